// Entry of Resources/hosted.js, the hosted pages' inline script (see hosted.ts).
import { runHostedPage } from "./hosted";

runHostedPage(window);

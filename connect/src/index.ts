// The public entry of @alter-ai/connect. Importing it touches no `window`: that waits for create().
import { makeAlterConnect } from "./connect";

/** `AlterConnect.create(config?)` builds an instance; see the README. */
const AlterConnect = makeAlterConnect(() => import.meta.url);
export default AlterConnect;

export type {
  AlterConnectConfig,
  AlterConnectInstance,
  AlterConnectStatic,
  AlterError,
  AlterErrorCode,
  Connection,
  ConnectEventName,
  Grant,
  HandleRedirectOptions,
  OpenOptions,
  Provider,
  TokenSource,
} from "./types";

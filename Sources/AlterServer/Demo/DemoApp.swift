import Fluent
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Vapor

/// A tiny stand-in for a customer's web app: a page with a Connect button wired as the widget's
/// README recommends (`open()` in the click with the token still to come, and a retry button
/// for a blocked popup), and a backend endpoint that mints sessions with the app key over HTTP,
/// as any backend would.
enum DemoApp {
    static func configure(_ demo: Application, vaultURL: String, appKey: String, client: HTTPClient) {
        demo.middleware = Middlewares()
        demo.get { _ in
            let response = Response(status: .ok, body: .init(string: page(vaultURL: vaultURL)))
            response.headers.contentType = .html
            response.headers.cacheControl = .init(noStore: true)
            return response
        }
        demo.get("api", "connect-session") { request async throws -> Response in
            let origin = "http://localhost:\(request.application.http.server.configuration.port)"
            let providers = (request.query[String.self, at: "providers"] ?? "sandbox").split(separator: ",").map(String.init)
            var body: [String: any Sendable] = ["allowed_providers": providers, "allowed_origin": origin, "return_url": origin + "/"]
            if providers == ["all"] { body["allowed_providers"] = nil }
            var mint = HTTPClientRequest(url: vaultURL + "/v1/connect/sessions")
            mint.method = .POST
            mint.headers.add(name: "Authorization", value: "Bearer " + appKey)
            mint.headers.add(name: "Content-Type", value: "application/json")
            mint.body = .bytes(ByteBuffer(data: try JSONSerialization.data(withJSONObject: body)))
            let minted = try await client.execute(mint, timeout: .seconds(10))
            let bytes = try await minted.body.collect(upTo: 64 * 1024)
            guard minted.status == .created,
                let json = try JSONSerialization.jsonObject(with: Data(buffer: bytes)) as? [String: Any],
                let token = json["session_token"] as? String
            else {
                return Response(status: .badGateway, body: .init(buffer: bytes))
            }
            let response = Response(status: .ok, body: .init(string: "{\"sessionToken\":\"\(token)\"}"))
            response.headers.contentType = .json
            response.headers.cacheControl = .init(noStore: true)
            return response
        }
    }

    static func page(vaultURL: String) -> String {
        let vault = HTML.scriptString(vaultURL)
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
            <title>Demo app · Alter Vault</title>
            <style>
            body{font:16px/1.5 system-ui,sans-serif;margin:0;padding:2rem 1rem;color:#1a1a1a;background:#fafafa}
            main{max-width:40rem;margin:auto}button{font:inherit;padding:.6rem 1.2rem;border-radius:.5rem;border:0;background:#2b59c3;color:#fff;cursor:pointer}
            pre{background:#fff;border:1px solid #ddd;padding:1rem;overflow:auto;border-radius:.5rem;min-height:2rem}
            @media (prefers-color-scheme:dark){body{background:#111;color:#eee}pre{background:#1b1b1b;border-color:#333}}
            </style></head>
            <body><main>
            <h1>Demo app</h1>
            <p>This page plays the part of your web app, on its own origin. Its backend mints a Connect session with its app key; the button opens the vault's Connect UI with the widget.</p>
            <p><label><input type="checkbox" id="both"> Offer both sandbox providers (picker)</label></p>
            <p><button id="connect" type="button">Connect</button></p>
            <p id="blocked" hidden>Your browser blocked the Connect window. <button id="retry" type="button">Open it</button></p>
            <p id="exit" hidden>The Connect window was closed without connecting.</p>
            <p>Error: <code id="error"></code></p>
            <p>Events: <span id="events"></span></p>
            <h2>Grants</h2>
            <pre id="grants"></pre>
            </main>
            <script src="\(HTML.escape(vaultURL))/sdk/alter-connect.umd.js"></script>
            <script>
            const alterConnect = AlterConnect.create({ baseURL: \(vault) });
            const $ = (id) => document.getElementById(id);
            const events = [];
            const onSuccess = (grants) => { $("grants").textContent = JSON.stringify(grants, null, 2); };
            const onError = (error) => {
              $("error").textContent = error.code;
              // A blocked popup never used its token: the person's next click opens it (#retry).
              $("blocked").hidden = error.code !== "popup_blocked";
            };
            const onExit = () => { $("exit").hidden = false; };
            const onEvent = (name) => { events.push(name); $("events").textContent = events.join(","); };
            alterConnect.handleRedirect({ onSuccess, onError });
            // The recommended pattern: open() at once in the click, with the token still to come.
            // The widget opens the popup in the click's task and calls mint() right after.
            const mint = () => fetch("/api/connect-session" + ($("both").checked ? "?providers=sandbox,sandbox-mail" : ""))
              .then((r) => r.json())
              .then(({ sessionToken }) => sessionToken);
            const options = { token: mint, onSuccess, onError, onExit, onEvent };
            $("connect").addEventListener("click", () => alterConnect.open(options));
            $("retry").addEventListener("click", () => { $("blocked").hidden = true; alterConnect.open(options); });
            </script>
            </body></html>
            """
    }
}

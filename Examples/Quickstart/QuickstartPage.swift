import Foundation

/// The one page: a Connect button, the connected accounts, and what "Call API" returned.
enum QuickstartPage {
    static func html(alterURL: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
        <title>Quickstart · Alter Vault</title>
        <style>
        body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}
        button{font:inherit;padding:.3rem .9rem;margin-left:.3rem}
        pre{background:#f4f4f4;padding:1rem;overflow:auto;min-height:2rem}
        </style></head>
        <body>
        <h1>Quickstart</h1>
        <p><button id="connect" type="button">Connect</button> <span id="status"></span></p>
        <h2>Connected accounts</h2>
        <p id="empty">None yet.</p>
        <ul id="accounts"></ul>
        <h2>API response</h2>
        <pre id="result"></pre>

        <script src="\(escape(alterURL))/sdk/alter-connect.umd.js"></script>
        <script>
        const alterConnect = AlterConnect.create();
        const $ = (id) => document.getElementById(id);

        // open() runs at once in the click, with the token still to come: the widget opens the
        // popup in the click's own task (so no browser blocks it) and fetches the token itself.
        function openConnect(query) {
          alterConnect.open({
            token: () => fetch("/api/connect-session" + query).then((r) => r.json()).then((s) => s.sessionToken),
            onSuccess: (grants) => {
              $("status").textContent = grants.map((g) => g.operation + ": " + g.account_identifier).join(", ");
              refreshAccounts();
            },
            onError: (error) => { $("status").textContent = "Connect failed: " + error.code; },
            onExit: () => { $("status").textContent = "The Connect window was closed."; },
          });
        }

        $("connect").addEventListener("click", () => openConnect(""));

        // Your backend reads the grants from the sessions it minted for you; the page sends no ids.
        function refreshAccounts() {
          post("/api/accounts", {}).then((r) => r.json()).then(render);
        }

        function callAPI(account, item) {
          post("/api/call", { grantId: account.grantId })
            .then((r) => r.json())
            .then((result) => {
              $("result").textContent = JSON.stringify(result, null, 2);
              // The provider revoked the credential: connect again; the grant id stays the same.
              item.querySelector(".reconnect").hidden = result.error !== "credential_revoked";
            });
        }

        function render(accounts) {
          $("empty").hidden = accounts.length > 0;
          $("accounts").replaceChildren(...accounts.map((account) => {
            const item = document.createElement("li");
            item.dataset.grantId = account.grantId;
            item.append(account.accountIdentifier + " (" + account.providerName + ")");
            const reconnect = button("Reconnect", "reconnect", () =>
              openConnect("?provider=" + encodeURIComponent(account.provider) + "&repair=" + encodeURIComponent(account.grantId)));
            reconnect.hidden = true;
            item.append(button("Call API", "call", () => callAPI(account, item)), reconnect);
            return item;
          }));
        }

        const post = (url, body) =>
          fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

        function button(label, className, onClick) {
          const element = document.createElement("button");
          element.type = "button";
          element.className = className;
          element.textContent = label;
          element.addEventListener("click", onClick);
          return element;
        }

        fetch("/api/accounts").then((r) => r.json()).then(render);
        </script>
        </body></html>
        """
    }

    /// For an attribute value: the URL comes from configuration, but escaping costs nothing.
    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}

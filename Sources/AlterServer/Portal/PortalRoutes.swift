import Fluent
import Vapor

/// `/portal`: the operators' web UI (`ALTER_PORTAL=off` leaves it out). Every page calls the
/// same capability functions as the CLI and `/v1` (`AppSettings`, `AppKeyManagement`,
/// `ProviderSetup`, `IdentitySettings`, `WebhookEndpoint`, `GrantListing`,
/// `GrantRevocation`, `AuditQuery`, `AgentRegistry`, `ManagedSecrets`, `ApprovalExecution`).
struct PortalRoutes: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let portal = routes.grouped("portal").grouped(PortalErrorMiddleware(), OperatorSessionMiddleware())
        let signedIn = portal.grouped(PortalGuard())
        PortalAuthController().register(public: portal, signedIn: signedIn)
        PortalAppsController().register(signedIn)
        let app = signedIn.grouped("apps", ":app")
        PortalKeysController().register(app)
        PortalProvidersController().register(app)
        PortalIdentityController().register(app)
        PortalWebhooksController().register(app)
        PortalGrantsController().register(app)
        PortalAuditController().register(app)
        PortalAgentsController().register(app)
        PortalPoliciesController().register(app)
        PortalApprovalsController().register(app)
    }
}

extension Request {
    /// The app of a `/portal/apps/:app/…` route.
    func portalApp() async throws -> ClientApp {
        guard let id = parameters.get("app").flatMap(UUID.init(uuidString:)), let app = try await ClientApp.find(id, on: db) else {
            throw APIError(.notFound, "No such app.")
        }
        return app
    }
}

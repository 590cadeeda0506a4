import Fluent
import Vapor

func routes(_ app: Application) throws {
    // Synchronous on purpose: an async handler costs a task per call, and liveness
    // probes are the most frequent call a vault gets (issue 14: /healthz vs a bare route).
    app.get("healthz") { _ -> Response in
        let response = Response(status: .ok, body: .init(string: "{\"status\":\"ok\"}"))
        response.headers.contentType = .json
        response.headers.cacheControl = .init(noStore: true)
        return response
    }
    try app.register(collection: ReadinessController())
    if let token = app.alterConfiguration.metricsToken { try app.register(collection: MetricsController(token: token)) }
    try app.register(collection: APIDescriptionController())
    try app.register(collection: ConnectSessionController())
    try app.register(collection: WidgetController())
    try app.register(collection: SessionResultController())
    try app.register(collection: ProviderController())
    try app.register(collection: ProxyController())
    try app.register(collection: GrantsController())
    try app.register(collection: GrantTokenController())
    try app.register(collection: AuditController())
    try app.register(collection: AgentsController())
    try app.register(collection: SecretsController())
    try app.register(collection: PoliciesController())
    try app.register(collection: SDKAgentsController.Mounted())
    try app.register(collection: SDKApprovalsController.Mounted())
    try app.register(collection: ApprovalsController())
    try app.register(collection: SDKRoutes())
    let hosted = app.grouped(HostedPageErrorMiddleware())
    try hosted.register(collection: ConnectUIController())
    try hosted.register(collection: OAuthCallbackController())
    try hosted.register(collection: ApprovalPageController())
    if app.alterConfiguration.sandboxEnabled { try app.register(collection: SandboxController()) }
    if app.alterConfiguration.portalEnabled { try app.register(collection: PortalRoutes()) }
}

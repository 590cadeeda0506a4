import Foundation
import Metrics
import NIOConcurrencyHelpers
import Prometheus

/// The vault's metrics, recorded through swift-metrics into one Prometheus registry per
/// process and scraped at `GET /metrics` (docs/operations.md lists the families).
///
/// Each room records with one line (`AlterMetrics.refresh(.ok)`), so merges stay trivial.
/// Labels take only closed sets of values or catalog provider ids: never a secret, token,
/// user, app, grant or session id, and never a raw path (Vapor labels requests with the
/// route's pattern, `/v1/grants/:grant`, and unmatched paths as `vapor_route_undefined`).
public enum AlterMetrics {
    /// swift-metrics takes one factory per process, so every `Application` in it (tests run
    /// many) shares this registry; counters are cumulative for the process, as Prometheus expects.
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        let fast: [Duration] = [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30)]
        factory.defaultDurationHistogramBuckets = fast
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    /// Installs the registry as swift-metrics' backend (once; later calls do nothing).
    static func bootstrap() { _ = registry }

    /// The registry in Prometheus' text exposition format (0.0.4).
    static func exposition() -> String { registry.emitToString() }

    // MARK: Proxy

    /// One call to a provider API: how long the provider took to answer the head.
    static func upstreamCall(provider: String, custom: Bool, duration: Duration) {
        let label = providerLabel(provider, custom: custom)
        let timer = upstreamTimers.withLockedValue { timers in
            if let known = timers[label] { return known }
            let made = Timer(label: "alter_proxy_upstream_duration_seconds", dimensions: [("provider", label)])
            timers[label] = made
            return made
        }
        timer.record(duration: duration)
    }

    /// Every proxied call records one: kept per provider label (catalog ids and `custom`, a
    /// closed set) instead of looked up in the registry by name and labels each time.
    private static let upstreamTimers = NIOLockedValueBox<[String: Timer]>([:])

    enum UpstreamError: String { case timeout, unreachable }

    /// A provider API call that got no answer.
    static func upstreamError(provider: String, custom: Bool, _ kind: UpstreamError) {
        Counter(label: "alter_proxy_upstream_errors_total", dimensions: [("provider", providerLabel(provider, custom: custom)), ("kind", kind.rawValue)]).increment()
    }

    /// A custom provider's id is the app's own word: reported as `custom`, so an app cannot
    /// grow the label set or name itself in it.
    private static func providerLabel(_ provider: String, custom: Bool) -> String { custom ? "custom" : provider }

    // MARK: Refresh

    enum RefreshResult: String { case ok, failed, revoked }

    /// A refresh-token exchange with a provider: `ok`, `failed` (transient, grant untouched) or
    /// `revoked` (the provider refused the refresh token).
    static func refresh(_ result: RefreshResult) {
        Counter(label: "alter_refreshes_total", dimensions: [("result", result.rawValue)]).increment()
    }

    // MARK: Webhooks

    enum DeliveryResult: String { case delivered, failed, abandoned }

    /// One delivery attempt: `abandoned` is a failure after the last attempt.
    static func webhookDelivery(_ result: DeliveryResult) {
        Counter(label: "alter_webhook_deliveries_total", dimensions: [("result", result.rawValue)]).increment()
    }

    /// Events still to deliver, read from the outbox at scrape time (all instances' queue).
    static func webhookQueueDepth(_ count: Int) {
        Gauge(label: "alter_webhook_queue_depth").record(count)
    }

    // MARK: Connect sessions

    static func sessionMinted() {
        Counter(label: "alter_connect_sessions_minted_total").increment()
    }

    enum SessionOutcome: String { case completed, failed, expired }

    /// A session reached its end (`completed` is the person connecting at least one account).
    static func sessionFinished(_ outcome: SessionOutcome) {
        Counter(label: "alter_connect_sessions_finished_total", dimensions: [("outcome", outcome.rawValue)]).increment()
    }

    // MARK: Audit

    /// A batch of audit entries committed: the lag is from its oldest entry's record to the commit.
    static func auditFlushed(lag: Duration, events: Int) {
        Timer(label: "alter_audit_flush_lag_seconds").record(duration: lag)
        Counter(label: "alter_audit_events_written_total").increment(by: events)
    }
}

import AsyncHTTPClient
import Foundation
import NIOCore

/// The vault could not be reached, or did not answer in time: nothing is known about whether
/// the call took effect.
///
/// Distinct from ``AlterVaultError`` (the vault answered with an error) so that a retry
/// policy can treat the two differently.
///
/// ```swift
/// do {
///     try await vault.revoke(grantID: id)
/// } catch let error as AlterVaultNetworkError where error.reason == .timedOut {
///     // the vault may or may not have revoked the grant: check with vault.grant(id:)
/// }
/// ```
public struct AlterVaultNetworkError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Why the call failed.
    public struct Reason: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// A short stable name, e.g. `timed_out`.
        public let rawValue: String

        /// Wraps a reason name.
        ///
        /// - Parameters:
        ///   - rawValue: The name.
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The name.
        public var description: String { rawValue }

        /// No connection could be made (refused, DNS failure, TLS failure).
        public static let cannotConnect = Reason(rawValue: "cannot_connect")
        /// The connection closed before the whole answer arrived.
        public static let connectionLost = Reason(rawValue: "connection_lost")
        /// The call did not finish within the client's timeout.
        public static let timedOut = Reason(rawValue: "timed_out")
        /// The answer was larger than the SDK accepts.
        public static let responseTooLarge = Reason(rawValue: "response_too_large")
        /// The base URL (or a URL built from it) is not a valid http(s) URL.
        public static let invalidURL = Reason(rawValue: "invalid_url")
    }

    /// Why the call failed.
    public let reason: Reason
    /// The type of the underlying error, e.g. `HTTPClientError`, for diagnosis.
    public let underlyingType: String

    /// Creates a network error.
    ///
    /// - Parameters:
    ///   - reason: Why the call failed.
    ///   - underlyingType: The type name of the error that caused it.
    public init(reason: Reason, underlyingType: String = "") {
        self.reason = reason
        self.underlyingType = underlyingType
    }

    /// True unless the failure comes from the configuration: the vault may answer next time.
    public var isRetryable: Bool { reason != .invalidURL && reason != .responseTooLarge }

    /// `network error: reason`; never the URL, headers or body.
    public var description: String {
        "network error: \(reason.rawValue)" + (underlyingType.isEmpty ? "" : " (\(underlyingType))")
    }

    /// Sorts an AsyncHTTPClient or NIO error into a reason. Only the type name is kept: some
    /// error descriptions include the URL.
    init(classifying error: any Error) {
        let type = String(describing: Swift.type(of: error))
        if error is NIOTooManyBytesError {
            self.init(reason: .responseTooLarge, underlyingType: type)
            return
        }
        guard let client = error as? HTTPClientError else {
            self.init(reason: .cannotConnect, underlyingType: type)
            return
        }
        switch client {
        case .deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout, .getConnectionFromPoolTimeout:
            self.init(reason: .timedOut, underlyingType: type)
        case .invalidURL, .emptyHost, .emptyScheme:
            self.init(reason: .invalidURL, underlyingType: type)
        case .remoteConnectionClosed, .bodyLengthMismatch:
            self.init(reason: .connectionLost, underlyingType: type)
        default:
            self.init(reason: .cannotConnect, underlyingType: type)
        }
    }
}

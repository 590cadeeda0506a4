import Foundation

extension Approvals {
    /// `approval.requested`'s data: what the app needs to find an approver (the call's method,
    /// host, path and reason; never its query, headers or body), and where to decide it: the
    /// portal's approvals page, or a one-time link the app makes (`/v1/approvals/{id}/approver-link`).
    struct RequestedEvent: Encodable {
        struct Info: Encodable {
            let approvalID: String
            let status: String
            let grantID: String
            let agentID: String?
            let caller: String?
            let method: String
            let host: String?
            let path: String
            let reason: String?
            let createdAt: Date
            let expiresAt: Date
            let approvalURL: String
            let portalURL: String

            enum CodingKeys: String, CodingKey {
                case status, caller, method, host, path, reason
                case approvalID = "approval_id"
                case grantID = "grant_id"
                case agentID = "agent_id"
                case createdAt = "created_at"
                case expiresAt = "expires_at"
                case approvalURL = "approval_url"
                case portalURL = "portal_url"
            }

            init(_ approval: Approval, approvalURL: String, portalURL: String) {
                let components = URLComponents(string: approval.url)
                approvalID = approval.id?.lowercasedString ?? ""
                status = approval.status.rawValue
                grantID = approval.credentialID.lowercasedString
                agentID = approval.agentID?.lowercasedString
                caller = approval.caller
                method = approval.method
                host = components?.host
                path = components?.path ?? ""
                reason = approval.reason
                createdAt = approval.createdAt
                expiresAt = approval.expiresAt
                self.approvalURL = approvalURL
                self.portalURL = portalURL
            }
        }

        let approval: Info
    }
}

import FluentKit

/// Every migration, in order. New tables are appended; shipped migrations never change.
enum AlterMigrations {
    static let all: [any Migration] = [
        ClientApp.Migration(),
        APIKey.Migration(),
        ProviderConfig.Migration(),
        ConnectSession.Migration(),
        Grant.Migration(),
        SessionGrant.Migration(),
        Delegation.Migration(),
        OAuthAttempt.Migration(),
        AuditEvent.Migration(),
        WebhookOutbox.Migration(),
        AppWebhookMigration(),
        SandboxControl.Migration(),
        SandboxAuthorizationCode.Migration(),
        SandboxToken.Migration(),
        CustomProvider.Migration(),
        OAuthAttempt.AddFinishedAt(),
        ConnectSession.AddMetadata(),
        ProviderConfig.AddLegacyCallback(),
        SandboxAuthorizationCode.AddNonce(),
        OAuthAttempt.AddRedirectURIAndNonce(),
        RevokedGrant.Migration(),
        AuditEvent.AddSDKFields(),
        PostgresNonceStore.Migration(),
        Agent.Migration(),
        APIKey.AddAgentKeys(),
        Delegation.AddAgentReference(),
        ManagedSecret.Migration(),
        SecretGrant.Migration(),
        Grant.AddTokenTimes(),
        PolicyRule.Migration(),
        RateCounter.Migration(),
        IdentityPolicyMigration(),
    ]
}

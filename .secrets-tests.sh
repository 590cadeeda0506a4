set -e
cd /work/main
eval "$(scripts/postgres-start)"
trap 'scripts/postgres-stop "$ALTER_TEST_POSTGRES_DIR"' EXIT
env ALTER_TEST_POSTGRES_URL="$ALTER_TEST_POSTGRES_URL" swift test --skip-build --filter "ManagedSecretsTests|ProxyTests|ProxyRulesTests|SignedRequestTests|GrantsAPITests|CLITests|OpenAPIDescriptionTests|APIErrorCodeTests|SealerTests|RefreshTests" 2>&1 | grep -E "✘|Test run|recorded an issue" | head -40

// swift-tools-version:6.0
import PackageDescription

// The bare Vapor relay: the reference `benchmarks/proxy_overhead.py` measures the vault
// against (issue 14). It depends on the same vapor and async-http-client the product
// resolves, so the difference is the vault's own work. Build it outside the repo's .build:
//   swift build -c release --package-path benchmarks/relay --scratch-path .build-relay
let package = Package(
    name: "relay",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(url: "https://github.com/vapor/vapor.git", from: "4.122.3"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        .executableTarget(
            name: "relay",
            dependencies: [
                .product(name: "Vapor", package: "vapor"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)

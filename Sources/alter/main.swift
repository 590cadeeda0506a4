import AlterServer
import Foundation

AlterCommandLine.runConcurrencyOnEventLoops()
exit(await AlterCommandLine.run(arguments: CommandLine.arguments))

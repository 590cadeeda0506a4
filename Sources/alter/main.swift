import AlterServer
import Foundation

exit(await AlterCommandLine.run(arguments: CommandLine.arguments))

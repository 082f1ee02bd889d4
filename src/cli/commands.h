// The atomcut command line: serve, probe, keys {create,list,revoke}. Subcommands call engines
// directly, never over HTTP. Returns the process exit code.
#pragma once

namespace atomcut {

int run_cli(int argc, char** argv);

}  // namespace atomcut

#pragma once
// What `--help` and usage errors say beyond CLI11's defaults: examples and the
// global options in every command's help, and kubectl's "unknown command".
#include <string>

namespace CLI {
class App;
}

namespace wok::cmd {

// Gives every command of `app` (at any depth) a footer: its examples (kept
// when a footer is already set) and, for client commands, the global options
// (-n, --server, --token), which CLI11 shows only in the top-level help.
void add_help_footers(CLI::App& app);

// After a failed parse: `error: unknown command "frobnicate" for "wok"` and
// what to run for help when the innermost command given needs a subcommand
// and got a word it does not know; "" otherwise.
std::string unknown_command_message(const CLI::App& app);

}  // namespace wok::cmd

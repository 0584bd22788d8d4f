#pragma once
// `wok completion bash|zsh|fish`: a completion script made from the CLI11
// app itself (its commands, their flags and the kinds they take), so it
// cannot fall behind the commands.
#include <string>

#include "cmd/commands.h"

namespace CLI {
class App;
}

namespace wok::cmd {

// The script for `shell` ("bash", "zsh" or "fish").
std::string completion_script(const CLI::App& app, const std::string& shell);

// Adds the `completion` command; parsing it sets `action` (needs no server).
void add_completion_command(CLI::App& app, LocalAction& action);

}  // namespace wok::cmd

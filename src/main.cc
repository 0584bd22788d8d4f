// The `wok` command: the client commands, and `wok up`, the embedded platform.
#include <cstdlib>

#include "cli/cli.h"
#include "platform/embedded.h"

#ifndef WOK_EXAMPLES_DIR
#define WOK_EXAMPLES_DIR "examples"
#endif

int main(int argc, char** argv) {
  return wok::cli::run(argc, argv, [](const wok::cli::UpOptions& up) {
    wok::platform::EmbeddedOptions options;
    options.data_dir = up.data_dir;
    options.listen = up.listen;
    options.api = up.api;
    options.demo = up.demo;
    const char* examples = std::getenv("WOK_EXAMPLES_DIR");
    options.examples_dir = examples ? examples : WOK_EXAMPLES_DIR;
    options.version = WOK_VERSION;
    return wok::platform::run_embedded(options);
  });
}

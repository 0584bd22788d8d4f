#pragma once
// The demo of `wok up --demo`: a project "demo" and a static site "www"
// built from a git repository made from examples/demo-site.
#include <string>

namespace wok::store {
class Store;
}

namespace wok::platform {

// Returns "" or what went wrong. Leaves existing demo objects as they are.
std::string install_demo(store::Store& store, const std::string& data_dir,
                         const std::string& examples_dir);

}  // namespace wok::platform

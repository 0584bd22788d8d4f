#pragma once
// A file's whole text ("" when it cannot be read), for tests.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace wok::test_support {

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace wok::test_support

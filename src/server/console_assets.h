#pragma once
// The web console's files (console/), embedded at build time
// (cmake/embed_files.cmake): its own HTML, JavaScript and CSS and the npm
// libraries it uses. Nothing is fetched from elsewhere at run time.
#include <cstddef>
#include <string_view>
#include <vector>

namespace wok::server {

struct ConsoleAsset {
  std::string_view name;          // "index.html", "vendor/uPlot.iife.min.js"
  std::string_view content_type;  // text/html, text/javascript, text/css (all UTF-8)
  const unsigned char* data;
  size_t size;
};

const std::vector<ConsoleAsset>& console_assets();

}  // namespace wok::server

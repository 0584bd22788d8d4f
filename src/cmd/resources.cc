#include "cmd/resources.h"

#include <algorithm>
#include <cctype>

#include "base/text.h"

namespace wok::cmd {
namespace {

// Names are DNS labels, but whatever the user typed must stay one path
// segment: "." and ".." too, which a URL would read as the path's own.
std::string escape_segment(std::string_view segment) {
  if (!segment.empty() && segment.find_first_not_of('.') == std::string_view::npos) {
    std::string dots;
    for (size_t i = 0; i < segment.size(); ++i) dots += "%2E";
    return dots;
  }
  return percent_encode(segment);
}

}  // namespace

std::optional<Kind> parse_kind(std::string_view word) {
  std::string lower(word);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "project" || lower == "projects" || lower == "project.wok.dev" ||
      lower == "projects.wok.dev") {
    return Kind::kProject;
  }
  if (lower == "site" || lower == "sites" || lower == "site.wok.dev" || lower == "sites.wok.dev") {
    return Kind::kSite;
  }
  return std::nullopt;
}

std::string kind_name(Kind kind) { return kind == Kind::kProject ? "Project" : "Site"; }

std::string qualified_name(Kind kind, std::string_view name) {
  return (kind == Kind::kProject ? "project.wok.dev/" : "site.wok.dev/") + std::string(name);
}

std::string collection_path(Kind kind, std::string_view project) {
  std::string base = kApiBase;
  if (kind == Kind::kProject) return base + "/projects";
  if (project.empty()) return base + "/sites";
  return base + "/namespaces/" + escape_segment(project) + "/sites";
}

std::string object_path(Kind kind, std::string_view project, std::string_view name) {
  return collection_path(kind, project) + "/" + escape_segment(name);
}

std::string site_subresource_path(std::string_view project, std::string_view name,
                                  std::string_view action) {
  return object_path(Kind::kSite, project, name) + "/" + std::string(action);
}

std::string not_found_message(Kind kind, std::string_view project, std::string_view name) {
  if (kind == Kind::kProject) return "project \"" + std::string(name) + "\" not found";
  return "site \"" + std::string(name) + "\" not found in project \"" + std::string(project) + "\"";
}

std::string describe_object(Kind kind, std::string_view project, std::string_view name) {
  if (kind == Kind::kProject) return "project \"" + std::string(name) + "\"";
  return "site \"" + std::string(name) + "\" (project " + std::string(project) + ")";
}

}  // namespace wok::cmd

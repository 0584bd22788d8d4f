#pragma once
// The resource kinds the client knows, their REST paths and their names in
// messages ("site.wok.dev/www").
#include <optional>
#include <string>
#include <string_view>

namespace wok::cmd {

enum class Kind { kProject, kSite };

inline constexpr char kApiVersion[] = "wok.dev/v1alpha1";
inline constexpr char kApiBase[] = "/apis/wok.dev/v1alpha1";

// "project", "projects", "site", "sites" (any case) and the kind names
// "Project", "Site".
std::optional<Kind> parse_kind(std::string_view word);

std::string kind_name(Kind kind);  // "Project", "Site"

// "project.wok.dev/team-a", "site.wok.dev/www"
std::string qualified_name(Kind kind, std::string_view name);

// /apis/wok.dev/v1alpha1/projects, .../namespaces/{project}/sites, or
// .../sites (every visible project) when `project` is empty.
std::string collection_path(Kind kind, std::string_view project);
std::string object_path(Kind kind, std::string_view project, std::string_view name);
// .../namespaces/{project}/sites/{name}/{action} (revisions, rollback, refresh)
std::string site_subresource_path(std::string_view project, std::string_view name,
                                  std::string_view action);

// `site "www" not found in project "team-a"`, `project "team-a" not found`
std::string not_found_message(Kind kind, std::string_view project, std::string_view name);

// `site "www" (project team-a)`, `project "team-a"`: the object in error lines.
std::string describe_object(Kind kind, std::string_view project, std::string_view name);

}  // namespace wok::cmd

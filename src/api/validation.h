#pragma once
// Validation of wok resources. Every error names the field path
// (`spec.hosts[0]`) so the user knows exactly what to fix; a request with any
// error changes nothing.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace wok::api {

inline constexpr std::string_view kApiVersion = "wok.dev/v1alpha1";

struct FieldError {
  std::string field;
  std::string message;
};

// "spec.hosts[0]: \"www..x\" is not a valid host name; spec.mode: ..."
std::string join_errors(const std::vector<FieldError>& errors);

// Whole objects, as received (metadata, spec; status is tolerated and ignored).
std::vector<FieldError> validate_project(const nlohmann::json& object);
std::vector<FieldError> validate_site(const nlohmann::json& object);

// The backup policy ({schedule, keep}) a site follows, on every platform:
// its own spec.backup; else, when it keeps data (spec.storage, a database,
// services), its project's spec.backup (a project's default); else null
// (backups by hand only).
nlohmann::json backup_policy(const nlohmann::json& site_spec, const nlohmann::json& project_spec);

// Fills in defaults (source.git.ref "main", interval "3m", build.timeout "10m").
void default_site(nlohmann::json& object);

// The app component a site's hosts reach, on every platform: the one named
// "web" if it has a port, else the first with a port. Its index in
// `components` (spec.app.components); -1 when none listens.
int routed_component(const nlohmann::json& components);

// Whether a site's spec has a source (spec.source.git). Only an app whose
// every component runs an image, with no build, may have none.
bool has_source(const nlohmann::json& spec);

// spec.serveDotFiles: whether the site serves paths through dot-files (.env,
// .git/); false when absent, on every platform.
bool serves_dot_files(const nlohmann::json& spec);

// A Project's spec.network.egress: whether its sites reach the internet;
// true when absent.
bool project_egress(const nlohmann::json& project_spec);

// spec.php.timeout: how long one request of a php site may take, in
// milliseconds (whole seconds), on every platform: php-fpm's
// request_terminate_timeout and max_execution_time, and the router's wait for
// php-fpm (504 beyond it). kDefaultPhpTimeoutMs when absent.
inline constexpr long long kDefaultPhpTimeoutMs = 60'000;
inline constexpr long long kMinPhpTimeoutMs = 1'000;
inline constexpr long long kMaxPhpTimeoutMs = 3'600'000;
// spec.access.ipAllow and ipDeny: networks in each list, at most.
inline constexpr size_t kMaxAccessNetworks = 100;
long long php_timeout_ms(const nlohmann::json& spec);

// spec.database: the engines, and the one major version of each that the
// platforms run (wok up: Debian's packages; a cluster: that version's
// official image). A site's version is written into its spec when created,
// so a newer platform never upgrades a database behind its owner's back.
struct DatabaseEngine {
  const char* name;     // "mariadb", "postgresql"
  const char* version;  // "10.11", "15"
  uint16_t port;        // 3306, 5432
  long long min_bytes;  // the smallest volume its empty data directory fits in
};
const DatabaseEngine* database_engine(std::string_view name);  // nullptr: unknown
// The versions of `engine` sites may ask for: its default, and the others
// the platform offers (wok up: each /usr/lib/postgresql/N of the host, set
// once at start by offer_database_versions). Newest last.
std::vector<std::string> database_versions(std::string_view engine);
void offer_database_versions(std::string_view engine, std::vector<std::string> versions);
// -1, 0, 1 as `a` is older, the same or newer than `b` ("10.11" < "11.4",
// "9" < "13"): dotted numbers, compared part by part.
int compare_versions(std::string_view a, std::string_view b);
// A database keeps its version whatever spec comes next (a rollback's, a
// restore's, an apply that leaves it out): `spec`'s database takes `now`'s
// version when both name the same engine. Returns the other version `spec`
// named, if it did (an apply is refused: only wok db upgrade changes it).
std::string keep_database_version(const nlohmann::json& now, nlohmann::json& spec);
// spec.services[].engine: the same, for the servers beside a database
// (min_bytes: the smallest volume); default_memory: its memory limit unless
// the spec says.
struct ServiceEngine {
  const char* name;     // "redis", "rabbitmq"
  const char* version;  // "7.0", "3.10"
  uint16_t port;        // 6379, 5672
  long long default_memory, min_memory;
};
const ServiceEngine* service_engine(std::string_view name);  // nullptr: unknown
inline constexpr long long kDefaultServiceBytes = 256ll << 20;
inline constexpr long long kMinServiceBytes = 64ll << 20;
inline constexpr size_t kMaxServices = 5;
inline constexpr long long kDefaultDatabaseMemoryBytes = 512ll << 20;
inline constexpr long long kMinDatabaseMemoryBytes = 128ll << 20;

bool is_dns_label(std::string_view name);
// A backup as a member names one: "latest", or 8 to 64 hex digits (a
// restic snapshot id or its prefix); nothing a tag filter could bend.
bool is_backup_ref(const std::string& id);    // RFC 1123 label, at most 63 chars
bool is_host_name(std::string_view host);     // lowercase DNS name
bool is_host_pattern(std::string_view host);  // a host name or "*." + host name
// `pattern` is a host name (exact) or "*.suffix", which matches exactly one
// more label in front of suffix. A wildcard host matches only the same pattern.
bool host_matches(std::string_view pattern, std::string_view host);

// Kubernetes quantities: memory ("256Mi", "1G", "1048576") in bytes, CPU
// ("500m", "2", "0.5") in millicores; -1 when malformed, not whole bytes or
// millicores, or larger than 2^62.
long long parse_memory_bytes(std::string_view text);
long long parse_cpu_millis(std::string_view text);

// Go-style durations ("90s", "5m", "1h30m", "250ms"); -1 if invalid.
long long parse_duration_ms(std::string_view text);

}  // namespace wok::api

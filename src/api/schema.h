#pragma once
// The one model of wok's resources: what each field may hold. The validator
// walks it to find wrong types, missing and unknown fields; the CRD
// generator turns it into structural OpenAPI v3 schemas. A field added here
// is therefore known to both at once.
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <set>
#include <string>
#include <vector>

#include "api/validation.h"

namespace wok::api::schema {

struct Rule {
  enum Type { kString, kInt, kBool, kObject, kArray, kStringMap, kAny } type;
  std::map<std::string, Rule> fields;  // kObject: allowed keys
  std::vector<Rule> item;              // kArray: the item rule (0 or 1 entries)
  std::set<std::string> required;      // kObject
  // Allowed values, for the CRD's `enum`. The validator checks them in code,
  // with messages that say what each value means.
  std::vector<std::string> values;
  // A field of a mode not yet available (php, app): the validator accepts any
  // value here and then refuses the field by name; the CRD describes it fully.
  bool reserved = false;
  std::string description;  // for the CRD (kubectl explain)
};

Rule str(std::string description = {});
Rule integer(std::string description = {});
Rule boolean(std::string description = {});
Rule any(std::string description = {});
Rule string_map(std::string description = {});
Rule object(std::map<std::string, Rule> fields, std::set<std::string> required = {},
            std::string description = {});
Rule array(Rule item, std::string description = {});
Rule one_of(std::vector<std::string> values, std::string description = {});
Rule reserved(Rule rule);

// Whole objects (apiVersion, kind, metadata, spec, status).
const Rule& project_rule();
const Rule& site_rule();

// Appends an error for every wrong type, unknown field and missing required
// field under `path` ("" at the root). Reserved fields are skipped unless
// `reserved_too` (`wok render` checks the shape of the php and app modes).
void check(const nlohmann::json& value, const Rule& rule, const std::string& path,
           std::vector<FieldError>& out, bool reserved_too = false);

// The structural OpenAPI v3 schema of a whole object, as a CRD's
// openAPIV3Schema: every node typed, metadata left to the API server, status
// kept as the controllers write it.
nlohmann::json openapi_schema(const Rule& rule);

}  // namespace wok::api::schema

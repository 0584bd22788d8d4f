#pragma once
// The documents given to `wok apply -f`: read all of them, check all of
// them, before anything is sent.
#include <iosfwd>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "cmd/resources.h"

namespace wok::cmd {

struct ManifestOrigin {
  std::string file;  // as given, "-" for stdin, or DIR/name.yaml
  int document = 1;  // 1-based index within the file
};

struct Manifest {
  std::vector<nlohmann::json> objects;  // in input order
  std::vector<ManifestOrigin> origins;  // parallel to objects
};

// Reads every input: a file, a directory (its *.yaml, *.yml and *.json,
// sorted, not recursive) or "-" (stdin). On failure *error is the message
// shown after "error: ", e.g. "site.yaml: line 3, column 7: ...".
bool load_manifest(const std::vector<std::string>& inputs, std::istream& in, Manifest* out,
                   std::string* error);

// Checks apiVersion, kind (Project or Site) and metadata.name of every object,
// and gives namespace-less Sites `project`; with `validate`, also the spec
// (as the server would; `wok delete -f` needs only the names). Fails on the
// first bad object.
bool check_manifest(Manifest* manifest, const std::string& project, std::string* error,
                    bool validate = true);

// "site.yaml" or "all.yaml (document 2)"
std::string origin_text(const Manifest& manifest, size_t index);

}  // namespace wok::cmd

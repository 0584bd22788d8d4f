#include "cmd/manifest.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <istream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/codec.h"
#include "api/secret.h"
#include "api/validation.h"

namespace wok::cmd {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool is_manifest_file(const fs::path& path) {
  std::string ext = path.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

bool read_file(const std::string& path, std::string* text, std::string* error) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    *error = "cannot read " + path;
    return false;
  }
  std::stringstream buffer;
  buffer << file.rdbuf();
  *text = buffer.str();
  return true;
}

bool add_text(const std::string& origin, const std::string& text, Manifest* out,
              std::string* error) {
  std::vector<json> docs;
  std::string parse_error;
  if (!api::parse_documents(text, &docs, &parse_error)) {
    *error = origin + ": " + parse_error;
    return false;
  }
  int index = 0;
  for (auto& doc : docs) {
    out->objects.push_back(std::move(doc));
    out->origins.push_back({origin, ++index});
  }
  return true;
}

// The files an input names, in the order they are applied.
bool expand_input(const std::string& input, std::vector<std::string>* files, std::string* error) {
  std::error_code ec;
  if (input == "-") {
    files->push_back(input);
    return true;
  }
  if (fs::is_directory(input, ec)) {
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(input, ec)) {
      if (entry.is_regular_file(ec) && is_manifest_file(entry.path())) {
        found.push_back(entry.path().string());
      }
    }
    if (ec) {
      *error = "cannot list " + input + ": " + ec.message();
      return false;
    }
    std::sort(found.begin(), found.end());
    files->insert(files->end(), found.begin(), found.end());
    return true;
  }
  if (!fs::exists(input, ec)) {
    *error = "the path \"" + input + "\" does not exist";
    return false;
  }
  files->push_back(input);
  return true;
}

std::string string_field(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

// apiVersion, kind and metadata.name: what apply needs to know where to send it.
bool check_identity(const json& object, const std::string& where, std::string* error) {
  if (!object.is_object()) {
    *error = where + "expected a mapping with apiVersion, kind, metadata and spec";
    return false;
  }
  std::string api_version = string_field(object, "apiVersion");
  std::string kind = string_field(object, "kind");
  // A Secret may be Kubernetes' own (v1): the same file then serves both platforms.
  if (api_version != kApiVersion && !(kind == "Secret" && api_version == "v1")) {
    *error = where + "apiVersion must be " + kApiVersion +
             (api_version.empty() ? " (it is missing)" : " (got \"" + api_version + "\")");
    return false;
  }
  if (kind != "Project" && kind != "Site" && kind != "Secret") {
    *error = where + (kind.empty() ? "kind is missing" : "kind \"" + kind + "\" is not supported") +
             ": wok apply accepts Project, Site and Secret";
    return false;
  }
  auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object() ||
      string_field(*metadata, "name").empty()) {
    *error = where + "metadata.name is missing";
    return false;
  }
  return true;
}

// A Site (or Secret) without metadata.namespace lives in the -n project.
bool assign_project(json& object, const std::string& project, const std::string& where,
                    std::string* error) {
  json& metadata = object["metadata"];
  std::string name = string_field(metadata, "name");
  std::string ns = string_field(metadata, "namespace");
  std::string what = object["kind"] == "Secret" ? "secret \"" : "site \"";
  if (ns.empty()) {
    if (project.empty()) {
      *error = where + what + name + "\" has no metadata.namespace: pass -n PROJECT";
      return false;
    }
    metadata["namespace"] = project;
  } else if (!project.empty() && ns != project) {
    *error = where + what + name + "\" is in project \"" + ns + "\", not \"" + project +
             "\" given with -n: pass -n " + ns + " or drop -n";
    return false;
  }
  return true;
}

}  // namespace

bool load_manifest(const std::vector<std::string>& inputs, std::istream& in, Manifest* out,
                   std::string* error) {
  std::vector<std::string> files;
  for (const auto& input : inputs) {
    if (!expand_input(input, &files, error)) return false;
  }
  for (const auto& file : files) {
    std::string text;
    if (file == "-") {
      std::stringstream buffer;
      buffer << in.rdbuf();
      text = buffer.str();
    } else if (!read_file(file, &text, error)) {
      return false;
    }
    if (!add_text(file, text, out, error)) return false;
  }
  if (out->objects.empty()) {
    *error = "no objects passed to apply";
    return false;
  }
  return true;
}

std::string origin_text(const Manifest& manifest, size_t index) {
  const ManifestOrigin& origin = manifest.origins[index];
  bool several =
      (index + 1 < manifest.origins.size() && manifest.origins[index + 1].file == origin.file) ||
      origin.document > 1;
  if (!several) return origin.file;
  return origin.file + " (document " + std::to_string(origin.document) + ")";
}

bool check_manifest(Manifest* manifest, const std::string& project, std::string* error,
                    bool validate) {
  for (size_t i = 0; i < manifest->objects.size(); ++i) {
    json& object = manifest->objects[i];
    std::string where = origin_text(*manifest, i) + ": ";
    if (!check_identity(object, where, error)) return false;
    bool site = object["kind"] == "Site";
    bool secret = object["kind"] == "Secret";
    if ((site || secret) && !assign_project(object, project, where, error)) return false;
    if (!validate) continue;
    if (secret) {  // never quoting a value
      if (auto invalid = api::validate_secret(object); !invalid.empty()) {
        *error = where + "secret \"" + string_field(object["metadata"], "name") +
                 "\" is invalid: " + api::join_errors(invalid);
        return false;
      }
      continue;
    }
    // The server would refuse these too; refusing here means nothing is sent.
    auto invalid = site ? api::validate_site(object) : api::validate_project(object);
    // But for the versions of a database: the server's host has its own.
    std::erase_if(invalid,
                  [](const api::FieldError& e) { return e.field == "spec.database.version"; });
    if (!invalid.empty()) {
      *error = where + (site ? "site \"" : "project \"") +
               string_field(object["metadata"], "name") +
               "\" is invalid: " + api::join_errors(invalid);
      return false;
    }
  }
  return true;
}

}  // namespace wok::cmd

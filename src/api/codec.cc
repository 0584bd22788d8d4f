#include "api/codec.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <nlohmann/json.hpp>

namespace wok::api {
namespace {

using nlohmann::json;

// Plain (unquoted) scalars follow YAML 1.2's core schema: null, booleans,
// integers and floats; everything else, and every quoted scalar, is a string.
json scalar_to_json(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (node.Tag() == "!") return s;  // quoted
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  char* end = nullptr;
  errno = 0;
  long long i = std::strtoll(s.c_str(), &end, 10);
  if (*end == '\0' && errno == 0 && (std::isdigit(s[0]) || s[0] == '-' || s[0] == '+')) return i;
  double d = std::strtod(s.c_str(), &end);
  if (*end == '\0' && std::isfinite(d) && (std::isdigit(s[0]) || s[0] == '-' || s[0] == '.'))
    return d;
  return s;
}

json node_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return scalar_to_json(node);
    case YAML::NodeType::Sequence: {
      json arr = json::array();
      for (const auto& item : node) arr.push_back(node_to_json(item));
      return arr;
    }
    case YAML::NodeType::Map: {
      json obj = json::object();
      for (const auto& kv : node) {
        std::string key = kv.first.Scalar();
        if (obj.contains(key)) {
          throw YAML::ParserException(kv.first.Mark(), "duplicate key \"" + key + "\"");
        }
        obj[key] = node_to_json(kv.second);
      }
      return obj;
    }
  }
  return nullptr;
}

void emit(YAML::Emitter& out, const json& v) {
  if (v.is_object()) {
    out << YAML::BeginMap;
    for (auto it = v.begin(); it != v.end(); ++it) {
      out << YAML::Key << it.key() << YAML::Value;
      emit(out, it.value());
    }
    out << YAML::EndMap;
  } else if (v.is_array()) {
    out << YAML::BeginSeq;
    for (const auto& item : v) emit(out, item);
    out << YAML::EndSeq;
  } else if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    // Quote strings that would otherwise read back as another type.
    json back = scalar_to_json(YAML::Node(s));
    if (!back.is_string() || s.empty()) {
      out << YAML::DoubleQuoted << s;
    } else {
      out << s;
    }
  } else if (v.is_null()) {
    out << YAML::Null;
  } else if (v.is_boolean()) {
    out << (v.get<bool>() ? "true" : "false");
  } else {
    out << v.dump();
  }
}

}  // namespace

bool parse_documents(std::string_view text, std::vector<nlohmann::json>* out, std::string* error) {
  try {
    std::vector<YAML::Node> docs = YAML::LoadAll(std::string(text));
    std::vector<json> values;
    for (const auto& doc : docs) {
      if (doc.IsNull()) continue;
      values.push_back(node_to_json(doc));
    }
    *out = std::move(values);
    return true;
  } catch (const YAML::Exception& e) {
    *error = "line " + std::to_string(e.mark.line + 1) + ", column " +
             std::to_string(e.mark.column + 1) + ": " + e.msg;
    return false;
  }
}

std::string to_yaml(const nlohmann::json& value) {
  YAML::Emitter out;
  emit(out, value);
  std::string s = out.c_str();
  if (!s.empty() && s.back() != '\n') s += '\n';
  return s;
}

}  // namespace wok::api

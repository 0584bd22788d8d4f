#include "cmd/jsonpath.h"

#include <nlohmann/json.hpp>
#include <vector>

namespace wok::cmd {
namespace {

using nlohmann::json;
using Nodes = std::vector<const json*>;

bool is_key_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '/' ||
         c == '~';
}

// `text` from `pos` is a path of .key, .*, [...] steps; evaluates it from
// `nodes`. Stops at the end of text.
class PathEval {
 public:
  PathEval(std::string_view text, std::string* error) : text_(text), error_(error) {}

  bool run(Nodes nodes, Nodes* out) {
    if (pos_ < text_.size() && text_[pos_] == '$') ++pos_;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '.') {
        ++pos_;
        if (pos_ < text_.size() && text_[pos_] == '.')
          return fail("recursive descent (..) is not supported");
        if (pos_ < text_.size() && text_[pos_] == '*') {
          ++pos_;
          nodes = all_children(nodes);
          continue;
        }
        size_t start = pos_;
        while (pos_ < text_.size() && is_key_char(text_[pos_])) ++pos_;
        if (pos_ == start) {
          if (pos_ == text_.size() && start == 1) break;  // "{.}": the whole document
          return fail("a field name is expected after '.'");
        }
        nodes = child(nodes, std::string(text_.substr(start, pos_ - start)));
      } else if (c == '[') {
        size_t close = text_.find(']', pos_);
        if (close == std::string_view::npos) return fail("'[' without ']'");
        std::string_view inside = text_.substr(pos_ + 1, close - pos_ - 1);
        pos_ = close + 1;
        if (!bracket(inside, &nodes)) return false;
      } else {
        return fail(std::string("unexpected '") + c + "'");
      }
    }
    *out = std::move(nodes);
    return true;
  }

 private:
  bool fail(const std::string& message) {
    *error_ = message;
    return false;
  }

  static Nodes child(const Nodes& nodes, const std::string& key) {
    Nodes out;
    for (const json* n : nodes) {
      if (!n->is_object()) continue;
      auto it = n->find(key);
      if (it != n->end()) out.push_back(&*it);
    }
    return out;
  }

  static Nodes all_children(const Nodes& nodes) {
    Nodes out;
    for (const json* n : nodes) {
      if (!n->is_structured()) continue;
      for (const auto& v : *n) out.push_back(&v);
    }
    return out;
  }

  bool bracket(std::string_view inside, Nodes* nodes) {
    if (inside == "*") {
      *nodes = all_children(*nodes);
      return true;
    }
    if (inside.size() >= 2 && (inside.front() == '\'' || inside.front() == '"') &&
        inside.back() == inside.front()) {
      *nodes = child(*nodes, std::string(inside.substr(1, inside.size() - 2)));
      return true;
    }
    if (inside.rfind("?(", 0) == 0 && inside.back() == ')')
      return filter(inside.substr(2, inside.size() - 3), nodes);
    long long index = 0;
    size_t used = 0;
    try {
      index = std::stoll(std::string(inside), &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != inside.size())
      return fail("unsupported subscript [" + std::string(inside) + "]");
    Nodes out;
    for (const json* n : *nodes) {
      if (!n->is_array()) continue;
      long long size = static_cast<long long>(n->size());
      long long i = index < 0 ? size + index : index;
      if (i >= 0 && i < size) out.push_back(&(*n)[static_cast<size_t>(i)]);
    }
    *nodes = std::move(out);
    return true;
  }

  // @.a.b=="v" (or 'v', or a number): elements of arrays whose field equals.
  bool filter(std::string_view condition, Nodes* nodes) {
    size_t eq = condition.find("==");
    if (condition.rfind("@", 0) != 0 || eq == std::string_view::npos)
      return fail("only filters of the form ?(@.field==\"value\") are supported");
    std::string_view path = condition.substr(1, eq - 1);
    std::string_view literal = condition.substr(eq + 2);
    json wanted;
    if (literal.size() >= 2 && (literal.front() == '"' || literal.front() == '\'') &&
        literal.back() == literal.front()) {
      wanted = std::string(literal.substr(1, literal.size() - 2));
    } else {
      wanted = json::parse(literal, nullptr, false);
      if (wanted.is_discarded()) return fail("cannot read the value " + std::string(literal));
    }
    Nodes out;
    for (const json* element : all_children(*nodes)) {
      Nodes found;
      PathEval sub(path, error_);
      if (!sub.run({element}, &found)) return false;
      if (!found.empty() && *found.front() == wanted) out.push_back(element);
    }
    *nodes = std::move(out);
    return true;
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::string* error_;
};

std::string unescape(std::string_view quoted) {
  std::string out;
  for (size_t i = 0; i < quoted.size(); ++i) {
    if (quoted[i] == '\\' && i + 1 < quoted.size()) {
      char c = quoted[++i];
      out += c == 'n' ? '\n' : c == 't' ? '\t' : c;
    } else {
      out += quoted[i];
    }
  }
  return out;
}

// The field inside braces, which may itself contain quoted braces.
size_t closing_brace(const std::string& tmpl, size_t open) {
  char quote = 0;
  for (size_t i = open + 1; i < tmpl.size(); ++i) {
    char c = tmpl[i];
    if (quote) {
      if (c == '\\')
        ++i;
      else if (c == quote)
        quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '}') {
      return i;
    }
  }
  return std::string::npos;
}

}  // namespace

bool render_jsonpath(const std::string& tmpl, const json& document, std::string* out,
                     std::string* error) {
  std::string result;
  size_t pos = 0;
  while (pos < tmpl.size()) {
    size_t open = tmpl.find('{', pos);
    if (open == std::string::npos) {
      result += tmpl.substr(pos);
      break;
    }
    result += tmpl.substr(pos, open - pos);
    size_t close = closing_brace(tmpl, open);
    if (close == std::string::npos) {
      *error = "jsonpath " + tmpl + ": '{' without '}'";
      return false;
    }
    std::string field = tmpl.substr(open + 1, close - open - 1);
    while (!field.empty() && field.front() == ' ') field.erase(0, 1);
    while (!field.empty() && field.back() == ' ') field.pop_back();
    pos = close + 1;
    if (field.size() >= 2 && field.front() == '"' && field.back() == '"') {
      result += unescape(std::string_view(field).substr(1, field.size() - 2));
      continue;
    }
    if (field.rfind("range", 0) == 0 || field == "end") {
      *error = "jsonpath " + tmpl + ": {range} is not supported; use [*]";
      return false;
    }
    if (!field.empty() && is_key_char(field.front()) && field.front() != '/') field.insert(0, ".");
    Nodes nodes;
    std::string why;
    PathEval eval(field, &why);
    if (!eval.run({&document}, &nodes)) {
      *error = "jsonpath {" + field + "}: " + why;
      return false;
    }
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (i > 0) result += ' ';
      result += nodes[i]->is_string() ? nodes[i]->get<std::string>() : nodes[i]->dump();
    }
  }
  *out = result;
  return true;
}

}  // namespace wok::cmd

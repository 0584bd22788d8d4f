// wok edit KIND NAME: the object as YAML in $VISUAL/$EDITOR, replaced on save
// (kubectl's shape). The server's answer to a bad edit is put at the top of
// the file and the editor opens again; saving it unchanged gives up, keeping
// the edited copy. An edit of the object made meanwhile by someone else (its
// generation moved) is refused (409), never overwritten; the controllers'
// status writes alone are not a conflict.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/codec.h"
#include "cmd/client.h"
#include "cmd/commands.h"
#include "cmd/printing.h"

extern char** environ;

namespace wok::cmd {
namespace {

using nlohmann::json;

constexpr const char* kHeader =
    "# Edit the object below and save to apply it; an empty file cancels.\n"
    "# Lines starting with '#' are ignored. status is not yours to edit.\n";

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Runs the editor on `path` the way git and kubectl do: $VISUAL, $EDITOR, vi,
// through the shell so that "code --wait" or "sed -i ..." work.
int run_editor(const std::string& path) {
  const char* editor = std::getenv("VISUAL");
  if (!editor || !*editor) editor = std::getenv("EDITOR");
  std::string command = std::string(editor && *editor ? editor : "vi") + " \"$1\"";
  const char* argv[] = {"sh", "-c", command.c_str(), "sh", path.c_str(), nullptr};
  pid_t pid = 0;
  if (posix_spawnp(&pid, "sh", nullptr, nullptr, const_cast<char* const*>(argv), environ) != 0)
    return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The text without comment lines, to see whether anything was changed.
std::string without_comments(const std::string& text) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line))
    if (line.rfind('#', 0) != 0) out += line + "\n";
  return out;
}

}  // namespace

int edit_command(Session& session, Kind kind, const std::string& name) {
  std::string project = kind == Kind::kSite ? session.project : std::string();
  if (kind == Kind::kSite && project.empty()) return session.fail("wok edit site needs -n PROJECT");
  HttpResponse current = session.client.request("GET", object_path(kind, project, name));
  if (current.status != 200) return session.fail(current, not_found_message(kind, project, name));
  json object = json::parse(current.body, nullptr, false);
  if (!object.is_object())
    return session.fail("the server answered with something that is not a JSON object");
  object.erase("status");

  char path_template[] = "/tmp/wok-edit-XXXXXX.yaml";
  int fd = ::mkstemps(path_template, 5);  // 0600, never an existing file
  if (fd < 0) return session.fail("cannot create a temporary file to edit");
  ::close(fd);
  const std::string path = path_template;
  std::string original = kHeader + api::to_yaml(object);
  std::string text = original;
  std::string last_error;
  while (true) {
    std::ofstream(path, std::ios::trunc) << text;
    if (int code = run_editor(path); code != 0) {
      ::unlink(path.c_str());
      return session.fail("the editor exited with status " + std::to_string(code) +
                          "; nothing changed");
    }
    std::string edited = read_all(path);
    std::string body = without_comments(edited);
    if (body.find_first_not_of(" \t\n") == std::string::npos ||
        body == without_comments(original)) {
      ::unlink(path.c_str());
      session.io.out << "Edit cancelled, no changes made.\n";
      return 0;
    }
    if (!last_error.empty() && body == without_comments(text)) {
      // Saved again as it was, with the error still there: give up, keep it.
      return session.fail(last_error + "\nA copy of your changes is in " + path);
    }
    std::vector<json> documents;
    std::string parse_error;
    std::string error;
    if (!api::parse_documents(body, &documents, &parse_error)) {
      error = "the file is not valid YAML: " + parse_error;
    } else if (documents.size() != 1 || !documents[0].is_object()) {
      error = "the file must hold exactly one object";
    } else {
      json edited_object = documents[0];
      HttpResponse replaced =
          session.client.request("PUT", object_path(kind, project, name), &edited_object);
      // Status writes by the controllers move the resourceVersion too: only a
      // change of the object itself (its generation) meanwhile is a conflict.
      for (int attempt = 0; replaced.status == 409 && attempt < 5; ++attempt) {
        HttpResponse now = session.client.request("GET", object_path(kind, project, name));
        json latest = json::parse(now.body, nullptr, false);
        if (now.status != 200 || !latest.is_object() ||
            latest["metadata"].value("generation", int64_t{-1}) !=
                object["metadata"].value("generation", int64_t{-2}))
          break;
        edited_object["metadata"]["resourceVersion"] = latest["metadata"]["resourceVersion"];
        replaced = session.client.request("PUT", object_path(kind, project, name), &edited_object);
      }
      if (replaced.status / 100 == 2) {
        ::unlink(path.c_str());
        session.io.out << qualified_name(kind, name) << " edited\n";
        return 0;
      }
      error = failure_message(replaced, session.client.server());
    }
    last_error = error;
    std::string comment = "# error: ";
    for (char c : error) {
      comment += c;
      if (c == '\n') comment += "# ";
    }
    text = kHeader + comment + "\n" + body;
  }
}

}  // namespace wok::cmd

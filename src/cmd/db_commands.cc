// wok db dump|import|shell site NAME: the site's database (docs/data.md),
// through the API (GET .../dbdump, POST .../dbexec), which runs the
// engine's own client in the site's sandbox.
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/sealed_box.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/resources.h"
#include "cmd/rollout.h"

namespace wok::cmd {

namespace {

using nlohmann::json;

constexpr long kDatabaseTimeoutSeconds = 30 * 60;

int run_sql(Session& session, const std::string& name, const std::string& sql) {
  HttpResponse response =
      session.client.request_text("POST", site_subresource_path(session.project, name, "dbexec"),
                                  sql, "application/sql", kDatabaseTimeoutSeconds);
  if (response.status / 100 != 2)
    return session.fail(response, not_found_message(Kind::kSite, session.project, name));
  session.io.out << response.body << std::flush;
  return 0;
}

// A statement is complete at a ";" ending a line outside quotes, as the
// engines' own shells read it (good enough for typing: a ";" inside a
// string literal at the end of a line is taken as the end).
bool complete_statement(const std::string& text) {
  size_t end = text.find_last_not_of(" \t\r\n");
  return end != std::string::npos && text[end] == ';';
}

}  // namespace

int db_dump_command(Session& session, const std::string& name) {
  int code = 1;
  if (!require_project(session, &code)) return code;
  bool wrote = false;
  HttpResponse response = session.client.request_text(
      "GET", site_subresource_path(session.project, name, "dbdump"), "", "",
      kDatabaseTimeoutSeconds, [&](std::string_view piece) {
        wrote = true;
        session.io.out.write(piece.data(), static_cast<std::streamsize>(piece.size()));
        return static_cast<bool>(session.io.out);
      });
  if (response.status / 100 != 2)
    return session.fail(response, not_found_message(Kind::kSite, session.project, name));
  session.io.out.flush();
  if (!session.io.out) return session.fail("cannot write the dump");
  (void)wrote;
  return 0;
}

namespace {

// Under the API's 16 MiB body limit, SQL goes whole; over it, in parts the
// server appends to one file and runs once the last is in (docs/api.md).
constexpr size_t kWholeSqlBytes = 15u << 20;
constexpr size_t kSqlPartBytes = 8u << 20;

// Appends up to `n` bytes of `in` to `out`; false at the end of `in`.
bool read_some(std::istream& in, std::string& out, size_t n) {
  const size_t had = out.size();
  out.resize(had + n);
  in.read(out.data() + had, static_cast<std::streamsize>(n));
  out.resize(had + static_cast<size_t>(in.gcount()));
  return static_cast<bool>(in);
}

}  // namespace

int db_import_command(Session& session, const std::string& name, const std::string& file) {
  int code = 1;
  if (!require_project(session, &code)) return code;
  std::ifstream opened;
  std::istream* in = &session.io.in;
  if (!file.empty() && file != "-") {
    opened.open(file, std::ios::binary);
    if (!opened) return session.fail("cannot read " + file);
    in = &opened;
  }
  std::string pending;
  bool more = read_some(*in, pending, kWholeSqlBytes + 1);
  if (!more && pending.size() <= kWholeSqlBytes) return run_sql(session, name, pending);
  const std::string id = base::random_token(16);  // 22 characters of base64url
  const std::string path = site_subresource_path(session.project, name, "dbexec");
  size_t offset = 0;
  while (true) {
    while (more && pending.size() < 2 * kSqlPartBytes)
      more = read_some(*in, pending, 2 * kSqlPartBytes - pending.size());
    if (in->bad()) return session.fail("cannot read the SQL");
    const bool last = !more && pending.size() <= kSqlPartBytes;
    const std::string part = last ? std::move(pending) : pending.substr(0, kSqlPartBytes);
    HttpResponse response = session.client.request_text(
        "POST",
        path + "?upload=" + id + "&offset=" + std::to_string(offset) + (last ? "&done=1" : ""),
        part, "application/sql", kDatabaseTimeoutSeconds);
    if (response.status / 100 != 2)
      return session.fail(response, not_found_message(Kind::kSite, session.project, name));
    if (last) {
      session.io.out << response.body << std::flush;
      return 0;
    }
    offset += part.size();
    pending.erase(0, part.size());
  }
}

int db_shell_command(Session& session, const std::string& name) {
  int code = 1;
  if (!require_project(session, &code)) return code;
  return sql_shell(session.io.in, session.io.err, name, &std::cin,
                   [&](const std::string& sql) { return run_sql(session, name, sql); });
}

int sql_shell(std::istream& in, std::ostream& err, const std::string& name,
              const std::istream* terminal,
              const std::function<int(const std::string& sql)>& run_sql) {
  // Not a terminal: every line of the input is one script, as `mariadb <
  // file` or `psql < file` would run it.
  if (&in != terminal || !::isatty(STDIN_FILENO)) {
    std::stringstream sql;
    sql << in.rdbuf();
    return run_sql(sql.str());
  }
  err << "Each statement (ended by ;) runs on a connection of its own: no "
         "transaction spans two. \\q or Ctrl-D quits.\n";
  std::string statement, line;
  int status = 0;
  while (true) {
    err << (statement.empty() ? name + "=> " : name + "-> ") << std::flush;
    if (!std::getline(in, line)) break;
    if (statement.empty() && (line == "\\q" || line == "quit" || line == "exit")) break;
    statement += line + "\n";
    if (!complete_statement(statement)) continue;
    status = run_sql(statement);
    statement.clear();
  }
  err << "\n";
  return status;
}

int db_upgrade_command(Session& session, const std::string& name, const std::string& version,
                       std::chrono::milliseconds timeout) {
  int code = 1;
  if (!require_project(session, &code)) return code;
  json body = {{"version", version}};
  HttpResponse response = session.client.request(
      "POST", site_subresource_path(session.project, name, "dbupgrade"), &body);
  if (response.status / 100 != 2)
    return session.fail(response, not_found_message(Kind::kSite, session.project, name));
  session.io.out << qualified_name(Kind::kSite, name) << ": database upgrade to " << version
                 << " requested\n"
                 << std::flush;
  return rollout_status_command(session, name, timeout);
}

}  // namespace wok::cmd

#pragma once
// A thin RAII layer over the SQLite C API, private to the store.
#include <sqlite3.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace wok::store {

struct SqliteError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, int64_t value);
  Statement& bind_null(int index);
  // True while there is a row; false when done. Throws on error.
  bool step();
  void run() { step(); }
  std::string text(int column) const;
  int64_t integer(int column) const;
  bool is_null(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back unless commit() is called.
class Transaction {
 public:
  explicit Transaction(sqlite3* db);
  ~Transaction();
  void commit();

 private:
  sqlite3* db_;
  bool done_ = false;
};

void exec(sqlite3* db, const char* sql);

}  // namespace wok::store

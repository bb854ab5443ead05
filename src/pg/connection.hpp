// One PostgreSQL connection (libpq), with parameterised queries whose failures are values.
// Every call blocks on the network: run it off the I/O threads.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

struct pg_conn;
struct pg_result;

namespace mailport::pg {

// A query parameter: text by default; `binary` sends the bytes as they are (bytea).
struct Param {
  std::string_view value;
  bool binary = false;
  bool null = false;
};

class Rows {
 public:
  explicit Rows(pg_result* result);
  int size() const;
  bool is_null(int row, int column) const;
  std::string_view text(int row, int column) const;  // also the raw bytes of a binary column
  std::int64_t integer(int row, int column) const;   // 0 for NULL or non-numeric text
  std::uint64_t affected() const;                    // rows an INSERT/UPDATE/DELETE touched

 private:
  struct Deleter {
    void operator()(pg_result* result) const;
  };
  std::unique_ptr<pg_result, Deleter> result_;
};

enum class Format { text, binary };

class Connection {
 public:
  // errc::temporary_failure (with libpq's reason) if the server cannot be reached or refuses us.
  static Result<std::unique_ptr<Connection>> open(const std::string& conninfo);

  // Failures: errc::invalid_input for data and constraint errors (SQLSTATE classes 22, 23),
  // errc::temporary_failure for everything else, the SQLSTATE and server message in the text.
  Result<Rows> query(std::string_view sql, std::initializer_list<Param> params = {},
                     Format result_format = Format::text);
  Result<void> execute(std::string_view sql, std::initializer_list<Param> params = {});
  // Several statements separated by ';', without parameters (schema migrations).
  Result<void> execute_script(std::string_view sql);

  // Usable for the next caller: connected and outside any transaction.
  bool reusable() const;

  explicit Connection(pg_conn* conn);  // takes ownership; use open()

 private:
  struct Deleter {
    void operator()(pg_conn* conn) const;
  };
  std::unique_ptr<pg_conn, Deleter> conn_;
};

// Runs `body(connection)` between BEGIN and COMMIT; a failure anywhere rolls back. Success means
// the COMMIT was acknowledged by the server.
template <class F>
Result<void> in_transaction(Connection& connection, F&& body) {
  if (auto begun = connection.execute("BEGIN"); !begun) return begun;
  Result<void> done = body(connection);
  if (!done) {
    (void)connection.execute("ROLLBACK");
    return done;
  }
  return connection.execute("COMMIT");
}

}  // namespace mailport::pg

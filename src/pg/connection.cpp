#include "pg/connection.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <vector>

namespace mailport::pg {
namespace {

std::string trimmed(const char* text) {
  std::string message = text ? text : "";
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

Error query_error(PGconn* conn, const PGresult* result) {
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string_view sqlstate = state ? state : "";
  const errc kind = sqlstate.starts_with("22") || sqlstate.starts_with("23")
                        ? errc::invalid_input
                        : errc::temporary_failure;
  std::string message = trimmed(result ? PQresultErrorMessage(result) : nullptr);
  if (message.empty()) message = trimmed(PQerrorMessage(conn));
  if (!sqlstate.empty())
    message = "PostgreSQL " + std::string(sqlstate) + ": " + message;
  else
    message = "PostgreSQL: " + message;
  return make_error(kind, std::move(message));
}

}  // namespace

void Rows::Deleter::operator()(pg_result* result) const {
  PQclear(result);
}
void Connection::Deleter::operator()(pg_conn* conn) const {
  PQfinish(conn);
}

Rows::Rows(pg_result* result) : result_(result) {}

int Rows::size() const {
  return PQntuples(result_.get());
}

bool Rows::is_null(int row, int column) const {
  return PQgetisnull(result_.get(), row, column) != 0;
}

std::string_view Rows::text(int row, int column) const {
  return {PQgetvalue(result_.get(), row, column),
          static_cast<std::size_t>(PQgetlength(result_.get(), row, column))};
}

std::int64_t Rows::integer(int row, int column) const {
  const std::string_view value = text(row, column);
  std::int64_t number = 0;
  std::from_chars(value.data(), value.data() + value.size(), number);
  return number;
}

std::uint64_t Rows::affected() const {
  const std::string_view count = PQcmdTuples(result_.get());
  std::uint64_t number = 0;
  std::from_chars(count.data(), count.data() + count.size(), number);
  return number;
}

Connection::Connection(pg_conn* conn) : conn_(conn) {}

Result<std::unique_ptr<Connection>> Connection::open(const std::string& conninfo) {
  auto connection = std::make_unique<Connection>(PQconnectdb(conninfo.c_str()));
  if (!connection->conn_) return make_error(errc::temporary_failure, "PostgreSQL: out of memory");
  if (PQstatus(connection->conn_.get()) != CONNECTION_OK) {
    return make_error(
        errc::temporary_failure,
        "PostgreSQL connection failed: " + trimmed(PQerrorMessage(connection->conn_.get())));
  }
  return connection;
}

Result<Rows> Connection::query(std::string_view sql, std::initializer_list<Param> params,
                               Format result_format) {
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  std::vector<std::string> texts;  // text parameters need a terminating NUL
  texts.reserve(params.size());
  for (const Param& param : params) {
    if (param.null) {
      values.push_back(nullptr);
    } else if (param.binary) {
      values.push_back(param.value.data());
    } else {
      values.push_back(texts.emplace_back(param.value).c_str());
    }
    lengths.push_back(static_cast<int>(param.value.size()));
    formats.push_back(param.binary ? 1 : 0);
  }
  const std::string statement(sql);
  PGresult* raw = PQexecParams(conn_.get(), statement.c_str(), static_cast<int>(values.size()),
                               nullptr, values.data(), lengths.data(), formats.data(),
                               result_format == Format::binary ? 1 : 0);
  Rows rows(raw);                                     // owns the result from here, also on failure
  const ExecStatusType status = PQresultStatus(raw);  // PGRES_FATAL_ERROR for a null result
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) return query_error(conn_.get(), raw);
  return rows;
}

Result<void> Connection::execute(std::string_view sql, std::initializer_list<Param> params) {
  auto rows = query(sql, params);
  if (!rows) return rows.error();
  return {};
}

Result<void> Connection::execute_script(std::string_view sql) {
  const std::string script(sql);
  PGresult* raw = PQexec(conn_.get(), script.c_str());
  Rows rows(raw);
  const ExecStatusType status = PQresultStatus(raw);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) return query_error(conn_.get(), raw);
  return {};
}

bool Connection::reusable() const {
  return PQstatus(conn_.get()) == CONNECTION_OK && PQtransactionStatus(conn_.get()) == PQTRANS_IDLE;
}

}  // namespace mailport::pg

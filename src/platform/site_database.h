#pragma once
// wok up's answer to `wok db dump|import|shell` (server::ApiOptions::
// site_database): the site's live revision, its database job
// (controllers/database_jobs.h), the output in an unlinked file under
// `tmp_dir` handed to the API server to send. The SQL of an import is
// `sql`, or the file `sql_fd` (an upload in parts) read from its start.
#include <filesystem>
#include <string>

#include "controllers/secret_env.h"
#include "server/api_server.h"

namespace wok::runtime {
class Runtime;
}
namespace wok::store {
class Store;
}

namespace wok::platform {

server::DatabaseAnswer site_database(store::Store& store, runtime::Runtime& runtime,
                                     const controllers::SecretReader& read_secret,
                                     const std::filesystem::path& tmp_dir, const std::string& ns,
                                     const std::string& name, bool dump, const std::string& sql,
                                     int sql_fd = -1);

}  // namespace wok::platform

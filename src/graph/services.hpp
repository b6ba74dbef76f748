#pragma once
// Service installs (System 7045, Security 4697) joined to who installed them and to the service's
// own process. The installer: a process on that host whose command line created that service
// name (sc create, New-Service) within a minute before, else 4697's SubjectLogonId session. The
// service's process: a child of services.exe with the service's image, started after the install.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/expected.hpp"
#include "graph/join_indexes.hpp"
#include "store/sqlite.hpp"

namespace treeline::graph {

struct ServiceStats {
  int64_t installs = 0, with_installer = 0, with_process = 0;
};

// Replaces service_install_links (processes, edges and sessions written already, in the same
// transaction).
Expected<ServiceStats> write_services(store::Db& db, JoinIndexes& indexes);

// The executable an ImagePath runs, lower-case, as a process image names it (quotes and
// arguments gone, %SystemRoot% and \SystemRoot expanded): what the service's process matches.
std::string service_executable(std::string_view image_path);

}  // namespace treeline::graph

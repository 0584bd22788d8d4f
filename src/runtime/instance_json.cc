#include "runtime/instance_json.h"

#include <nlohmann/json.hpp>

namespace wok::runtime {
using nlohmann::json;

json spec_to_json(const InstanceSpec& s) {
  json volumes = json::array();
  for (const auto& v : s.volumes)
    volumes.push_back(
        {{"hostPath", v.host_path}, {"path", v.container_path}, {"readOnly", v.read_only}});
  return {{"id", s.id},
          {"project", s.project},
          {"uid", s.uid},
          {"image", s.image},
          {"command", s.command},
          {"env", s.env},
          {"workdir", s.workdir},
          {"volumes", volumes},
          {"files", s.files},
          {"resources",
           {{"memory", s.resources.memory_bytes},
            {"cpuMillis", s.resources.cpu_millis},
            {"pids", s.resources.pids},
            {"tmp", s.resources.tmp_bytes}}},
          {"port", s.port},
          {"healthPath", s.health_path},
          {"probeListening", s.probe_listening},
          {"network", s.network},
          {"service", s.service},
          {"graceSeconds", s.grace.count()},
          {"labels", s.labels}};
}

bool spec_from_json(const json& j, InstanceSpec* s) {
  try {
    s->id = j.at("id");
    s->project = j.at("project");
    s->uid = j.at("uid");
    s->image = j.at("image");
    s->command = j.at("command").get<std::vector<std::string>>();
    s->env = j.at("env").get<std::map<std::string, std::string>>();
    s->workdir = j.at("workdir");
    s->volumes.clear();
    for (const auto& v : j.at("volumes"))
      s->volumes.push_back({v.at("hostPath"), v.at("path"), v.at("readOnly")});
    s->files = j.at("files").get<std::map<std::string, std::string>>();
    const auto& r = j.at("resources");
    s->resources = {r.at("memory"), r.at("cpuMillis"), r.at("pids"), r.at("tmp")};
    s->port = j.at("port");
    s->health_path = j.at("healthPath");
    s->probe_listening = j.value("probeListening", false);  // absent in specs of older wok
    s->network = j.value("network", "");                    // absent in specs of older wok
    s->service = j.value("service", "");
    s->grace = std::chrono::seconds(j.at("graceSeconds").get<int64_t>());
    s->labels = j.at("labels").get<std::map<std::string, std::string>>();
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

json rootfs_to_json(const RootFs& r) {
  return {{"path", r.path.string()},
          {"baseImage", r.base_image},
          {"args", r.args},
          {"env", r.env},
          {"cwd", r.cwd}};
}

RootFs rootfs_from_json(const json& j) {
  RootFs r;
  r.path = j.value("path", "");
  r.base_image = j.value("baseImage", false);
  r.args = j.value("args", std::vector<std::string>{});
  r.env = j.value("env", std::vector<std::string>{});
  r.cwd = j.value("cwd", "");
  return r;
}

}  // namespace wok::runtime

#include "ingest/event_xml.hpp"

#include <fmt/format.h>
#include <pugixml.hpp>

#include <cstdlib>

namespace treeline::ingest {

Expected<EventXml> parse_event_xml(std::string_view xml) {
  pugi::xml_document doc;
  auto res = doc.load_buffer(xml.data(), xml.size(), (pugi::parse_default | pugi::parse_ws_pcdata_single) & ~pugi::parse_eol);
  if (!res) return Error{ErrorCode::kBadInput, fmt::format("event XML does not parse: {}", res.description())};
  pugi::xml_node event = doc.child("Event");
  if (!event) return Error{ErrorCode::kBadInput, "event XML has no <Event> element"};
  EventXml out;
  pugi::xml_node sys = event.child("System");
  out.channel = sys.child("Channel").text().as_string();
  out.computer = sys.child("Computer").text().as_string();
  out.provider = sys.child("Provider").attribute("Name").as_string();
  out.time_created = sys.child("TimeCreated").attribute("SystemTime").as_string();
  out.event_id = sys.child("EventID").text().as_string();
  out.record_id = sys.child("EventRecordID").text().as_string();
  out.execution_pid = sys.child("Execution").attribute("ProcessID").as_string();
  if (pugi::xml_node v = sys.child("Version"); v && *v.text().as_string())
    out.version = v.text().as_int(-1);
  if (pugi::xml_node ed = event.child("EventData")) {
    for (pugi::xml_node d : ed.children()) {
      // An unnamed <Data> (classic providers) has an empty name, and so has any other element
      // there but by its own name (<Binary>).
      std::string name = d.attribute("Name").as_string();
      if (name.empty() && std::string_view(d.name()) != "Data") name = d.name();
      out.data.emplace_back(std::move(name), d.text().as_string());
    }
  } else if (pugi::xml_node ud = event.child("UserData")) {
    for (pugi::xml_node d : ud.first_child().children())
      out.data.emplace_back(d.name(), d.text().as_string());
  }
  return out;
}

}  // namespace treeline::ingest

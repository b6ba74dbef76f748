#pragma once
// SIGINT and SIGTERM as a request, not a kill: the handler only sets a flag, and the ingest loop
// checks it between records, rolls back the file it is reading and stops. A second signal
// kills at once (the handler resets itself); SQLite's journal still keeps the case consistent.
namespace treeline {

void install_interrupt_handlers();
bool interrupted();
// For tests: forget an earlier request.
void clear_interrupt();

}  // namespace treeline

#pragma once
// Runs a synchronous Handler (whole request in, whole response out) as an
// asynchronous one: the body is buffered first, the answer sent at once.
#include "http/exchange.h"

namespace wok::http {

AsyncHandler adapt_sync_handler(Handler handler);

// Runs handler on an exchange whose body is complete and answers it.
void answer_sync(const Handler& handler, Exchange& exchange);

}  // namespace wok::http

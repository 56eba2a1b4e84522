# kvmcmotop: the screen (ncursesw + its terminfo library) and the --remote
# HTTP client (libevent's evhttp: extra holds http, core the event loop)
kvmcmotop_LIBS := -lncursesw -ltinfo -levent_extra -levent_core -lm

# kvmcmo diff computes p-values with GSL (tools/kvmcmo/stats.c)
kvmcmo_LIBS := -lgsl -lgslcblas -lm -lpthread

package sched

// BackgroundNice is how much Background raises a thread's nice value. At
// nice 5 the kernel gives a thread about a third of the CPU time of a
// nice-0 thread it competes with (weights 335 and 1024), and all of an
// otherwise idle CPU.
const BackgroundNice = 5

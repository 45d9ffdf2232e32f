package main

import "syscall"

const sysTERM = syscall.SIGTERM

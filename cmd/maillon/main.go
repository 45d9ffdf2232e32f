// Command maillon runs the community ISP registry and the services built on it.
package main

func main() {}

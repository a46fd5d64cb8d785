fn main() {
    std::process::exit(rlua_net::cli::main());
}

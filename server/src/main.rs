//! The standalone Rotor server: `cargo run -p rotor-server`.

#[rocket::launch]
fn rocket() -> _ {
    rotor_server::rocket()
}

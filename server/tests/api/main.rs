//! Integration tests: the real server over HTTP, against SQLite (default) or PostgreSQL + Redis
//! (`TEST_BACKEND=postgres`). One binary; modules mirror the routes.

mod helpers;

mod cart;
mod console;
mod contract;
mod email;
mod gifts;
mod hardening;
mod health;
mod items;
mod keys;
mod operations;
mod pages;
mod promotions;
mod purchases;
mod refunds;
mod users;
mod webhooks;
mod ws;

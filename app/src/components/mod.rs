pub mod chart;
pub mod copy;
pub mod item_card;
pub mod layout;
pub mod notice;
pub mod status;

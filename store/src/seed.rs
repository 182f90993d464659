//! The sample catalog: the original store's five items plus forty more, inserted once.
//! Re-running is a no-op (`ON CONFLICT (sku) DO NOTHING`), so every start-up may call it.

use chrono::{Duration, TimeZone as _, Utc};
use sea_orm::{EntityTrait as _, Set};

use crate::domain::Tags;
use crate::entity::items;
use crate::{Error, Result, Store};

/// (sku, name, description, price in cents, tags, consumable)
type SeedItem = (
    &'static str,
    &'static str,
    &'static str,
    i64,
    &'static [&'static str],
    bool,
);

pub const SAMPLE_CATALOG: &[SeedItem] = &[
    (
        "dragon-sword",
        "Dragon Sword",
        "A legendary sword forged in dragon fire. Its blade never dulls and glows faintly in the dark.",
        99999,
        &["weapon", "legendary", "fire"],
        false,
    ),
    (
        "magic-shield",
        "Magic Shield",
        "A shield imbued with protective magic that turns aside arrows and minor spells.",
        49999,
        &["armor", "magic", "rare"],
        false,
    ),
    (
        "speed-boots",
        "Speed Boots",
        "Boots that increase movement speed. Wearers report the ground feels optional.",
        29999,
        &["armor", "movement", "rare"],
        false,
    ),
    (
        "health-potion",
        "Health Potion",
        "Restores 50 health points instantly. Tastes faintly of strawberries.",
        4999,
        &["potion", "consumable", "healing"],
        true,
    ),
    (
        "wizard-hat",
        "Wizard Hat",
        "Increases magic power and makes every entrance more dramatic.",
        19999,
        &["armor", "magic", "cosmetic"],
        false,
    ),
    (
        "frost-dagger",
        "Frost Dagger",
        "A slim blade of never-melting ice that slows whatever it touches.",
        15999,
        &["weapon", "ice", "rare"],
        false,
    ),
    (
        "thunder-axe",
        "Thunder Axe",
        "Each swing ends in a clap of thunder. Not for use indoors.",
        54999,
        &["weapon", "lightning", "epic"],
        false,
    ),
    (
        "elven-bow",
        "Elven Bow",
        "Light as a feather and twice as quiet; arrows fly true in any wind.",
        38999,
        &["weapon", "ranged", "rare"],
        false,
    ),
    (
        "oak-staff",
        "Oak Staff",
        "A sturdy staff cut from a thousand-year oak. A solid start for any apprentice.",
        6999,
        &["weapon", "magic", "common"],
        false,
    ),
    (
        "archmage-staff",
        "Archmage Staff",
        "The crystal at its tip hums with stored spells. Favoured by tower-dwelling scholars.",
        89999,
        &["weapon", "magic", "legendary"],
        false,
    ),
    (
        "iron-helm",
        "Iron Helm",
        "Plain, dependable and dented in all the right places.",
        8999,
        &["armor", "common"],
        false,
    ),
    (
        "knight-plate",
        "Knight's Plate Armor",
        "Full plate polished to a mirror shine. Clanks with quiet dignity.",
        64999,
        &["armor", "heavy", "epic"],
        false,
    ),
    (
        "shadow-cloak",
        "Shadow Cloak",
        "Woven from twilight; hides its wearer in any patch of shade.",
        42999,
        &["armor", "stealth", "epic"],
        false,
    ),
    (
        "ruby-ring",
        "Ruby Ring",
        "A ring set with a flawless ruby that warms its wearer's resolve.",
        24999,
        &["accessory", "fire", "rare"],
        false,
    ),
    (
        "sapphire-amulet",
        "Sapphire Amulet",
        "Calms the mind and sharpens focus during long spellcasting.",
        27999,
        &["accessory", "magic", "rare"],
        false,
    ),
    (
        "crown-of-kings",
        "Crown of Kings",
        "Once worn by seven kings in a row. The eighth is up to you.",
        99000,
        &["accessory", "legendary", "cosmetic"],
        false,
    ),
    (
        "mana-potion",
        "Mana Potion",
        "Restores 50 mana points. Fizzy, blue and faintly humming.",
        3999,
        &["potion", "consumable", "magic"],
        true,
    ),
    (
        "elixir-of-strength",
        "Elixir of Strength",
        "Doubles strength for ten minutes. Side effects include flexing.",
        7999,
        &["potion", "consumable", "buff"],
        true,
    ),
    (
        "antidote-vial",
        "Antidote Vial",
        "Cures common poisons and most uncommon ones.",
        1999,
        &["potion", "consumable", "healing"],
        true,
    ),
    (
        "phoenix-elixir",
        "Phoenix Elixir",
        "Brings a fallen hero back with full health, once.",
        19900,
        &["potion", "consumable", "legendary"],
        true,
    ),
    (
        "teleport-scroll",
        "Teleport Scroll",
        "Returns you to the nearest town. Single use; read carefully.",
        2999,
        &["scroll", "consumable", "movement"],
        true,
    ),
    (
        "fireball-scroll",
        "Fireball Scroll",
        "One fireball, no training required. Aim away from face.",
        4499,
        &["scroll", "consumable", "fire"],
        true,
    ),
    (
        "scroll-of-wisdom",
        "Scroll of Wisdom",
        "Grants a permanent point of wisdom to whoever reads it first.",
        12999,
        &["scroll", "consumable", "buff"],
        true,
    ),
    (
        "golden-key",
        "Golden Key",
        "Opens any treasure chest in the Sunken Vaults.",
        9999,
        &["key", "dungeon", "rare"],
        false,
    ),
    (
        "skeleton-key",
        "Skeleton Key",
        "Opens one locked door anywhere. Crumbles afterwards.",
        2499,
        &["key", "consumable", "dungeon"],
        true,
    ),
    (
        "treasure-chest",
        "Treasure Chest",
        "A mystery chest holding one random item of rare quality or better.",
        14999,
        &["bundle", "mystery", "consumable"],
        true,
    ),
    (
        "starter-pack",
        "Adventurer's Starter Pack",
        "Sword, shield, three potions and a map. Everything a new hero needs.",
        11999,
        &["bundle", "common", "value"],
        false,
    ),
    (
        "gold-pouch",
        "Pouch of Gold",
        "A thousand gold coins for the in-game market.",
        999,
        &["currency", "consumable", "value"],
        true,
    ),
    (
        "dragon-egg",
        "Dragon Egg",
        "Hatches into a loyal baby dragon companion after three days of play.",
        79999,
        &["pet", "legendary", "fire"],
        false,
    ),
    (
        "owl-familiar",
        "Owl Familiar",
        "A wise owl that spots hidden chests and hoots at traps.",
        21999,
        &["pet", "magic", "rare"],
        false,
    ),
    (
        "shadow-wolf-pup",
        "Shadow Wolf Pup",
        "A playful pup that grows into a stealthy hunting companion.",
        33999,
        &["pet", "stealth", "epic"],
        false,
    ),
    (
        "world-map",
        "Map of the Known World",
        "Reveals every town, dungeon and secret shop on the world map.",
        5999,
        &["map", "exploration", "common"],
        false,
    ),
    (
        "ancient-atlas",
        "Ancient Atlas",
        "Charts the lost islands no modern sailor has found.",
        17999,
        &["map", "exploration", "rare"],
        false,
    ),
    (
        "grimoire-of-shadows",
        "Grimoire of Shadows",
        "Teaches three forbidden spells. Reading it at night is not advised.",
        47999,
        &["book", "magic", "epic"],
        false,
    ),
    (
        "alchemist-tome",
        "Alchemist's Tome",
        "Unlocks forty new potion recipes at any cauldron.",
        13999,
        &["book", "crafting", "rare"],
        false,
    ),
    (
        "blacksmith-manual",
        "Blacksmith's Manual",
        "Unlocks advanced forging at any anvil.",
        8999,
        &["book", "crafting", "common"],
        false,
    ),
    (
        "storm-gem",
        "Storm Gem",
        "A crystal that crackles with captured lightning. Socket it into any weapon.",
        22999,
        &["gem", "lightning", "rare"],
        false,
    ),
    (
        "frost-crystal",
        "Frost Crystal",
        "Adds frost damage to the weapon it is socketed into.",
        18999,
        &["gem", "ice", "rare"],
        false,
    ),
    (
        "emerald-shard",
        "Emerald Shard",
        "A sliver of living emerald; boosts nature magic.",
        9999,
        &["gem", "magic", "common"],
        false,
    ),
    (
        "ranger-hood",
        "Ranger's Hood",
        "Keeps the rain off and the eyes sharp. Improves ranged accuracy.",
        7499,
        &["armor", "ranged", "common"],
        false,
    ),
    (
        "winged-sandals",
        "Winged Sandals",
        "Let you glide from any height. Landing is still your problem.",
        36999,
        &["armor", "movement", "epic"],
        false,
    ),
    (
        "tower-shield",
        "Tower Shield",
        "A wall you can carry. Slow, but nothing gets through.",
        31999,
        &["armor", "heavy", "rare"],
        false,
    ),
    (
        "warhammer",
        "Dwarven Warhammer",
        "Forged under the mountain; rings like a bell on every hit.",
        45999,
        &["weapon", "heavy", "epic"],
        false,
    ),
    (
        "katana-of-dawn",
        "Katana of Dawn",
        "Catches the first light of morning and never lets it go.",
        69999,
        &["weapon", "light", "legendary"],
        false,
    ),
    (
        "hero-cape",
        "Hero's Cape",
        "Purely cosmetic. Billows dramatically even when there is no wind.",
        4999,
        &["cosmetic", "common"],
        false,
    ),
];

pub async fn seed_catalog(store: &Store) -> Result<()> {
    // Items are stamped a minute apart so that "newest" has a stable, meaningful order.
    let base = Utc
        .with_ymd_and_hms(2026, 1, 1, 12, 0, 0)
        .single()
        .ok_or_else(|| Error::internal("seed timestamp"))?;
    let rows = SAMPLE_CATALOG
        .iter()
        .enumerate()
        .map(|(i, (sku, name, description, cents, tags, consumable))| {
            let at = base + Duration::minutes(i as i64);
            let tags = Tags::parse(tags).map(|t| t.to_column())?;
            Ok(items::ActiveModel {
                sku: Set((*sku).to_owned()),
                name: Set((*name).to_owned()),
                description: Set((*description).to_owned()),
                price_cents: Set(*cents),
                currency: Set("USD".to_owned()),
                image: Set(format!("/covers/{sku}.svg")),
                tags: Set(tags),
                consumable: Set(*consumable),
                active: Set(true),
                created_at: Set(at),
                updated_at: Set(at),
                ..Default::default()
            })
        })
        .collect::<Result<Vec<_>>>()?;
    items::Entity::insert_many(rows)
        .on_conflict_do_nothing_on([items::Column::Sku])
        .exec(store.db())
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ItemName, Money, Sku};

    #[test]
    fn the_sample_catalog_is_valid_and_needs_paging() {
        assert!(SAMPLE_CATALOG.len() >= 45);
        let mut skus = std::collections::HashSet::new();
        for (sku, name, _, cents, tags, _) in SAMPLE_CATALOG {
            assert!(Sku::parse(sku).is_ok(), "{sku}");
            assert!(ItemName::parse(name).is_ok(), "{name}");
            assert!(Money::parse(*cents, "USD").is_ok(), "{sku}");
            assert!(Tags::parse(tags).is_ok(), "{sku}");
            assert!(skus.insert(*sku), "duplicate {sku}");
        }
    }

    #[test]
    fn the_original_five_are_first_with_their_prices() {
        let originals: Vec<(&str, i64)> = SAMPLE_CATALOG[..5]
            .iter()
            .map(|(_, name, _, cents, _, _)| (*name, *cents))
            .collect();
        assert_eq!(
            originals,
            vec![
                ("Dragon Sword", 99999),
                ("Magic Shield", 49999),
                ("Speed Boots", 29999),
                ("Health Potion", 4999),
                ("Wizard Hat", 19999),
            ]
        );
    }
}

"""The embedded default: a SQLite shop database and schedules to the filesystem sink."""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

CUSTOMERS = ["Rossi Srl", "Bianchi & Figli", "Müller GmbH", "Café Lumière", "Østergaard A/S",
             "Nakamura 株式会社", "García y Asociados", "Smith Ltd", "Ferrari SpA", "Kowalski Sp. z o.o.",
             "Dupont SARL", "Papadopoulos ΑΕ", "Johansson AB", "O'Brien Trading", "Novák s.r.o."]
CITIES = ["Milano", "Roma", "Torino", "München", "Paris", "København", "Tokyo", "Madrid",
          "London", "Warszawa", "Athína", "Stockholm", "Dublin", "Praha", "Napoli"]
PRODUCTS = [("Espresso beans 1kg", "coffee", "18.90"), ("Moka pot 6 cups", "equipment", "34.50"),
            ("Milk frother", "equipment", "59.00"), ("Decaf beans 500g", "coffee", "11.20"),
            ("Ceramic cup set", "accessories", "24.00"), ("Grinder burr", "equipment", "129.99"),
            ("Descaler", "accessories", "7.45"), ("Single origin 250g", "coffee", "9.80")]
STATUSES = ["new", "paid", "shipped", "delivered", "cancelled"]


def create_demo_database(path: Path, orders: int = 5000, seed: int = 20260121) -> int:
    """(Re)create the demo database; returns the number of orders."""
    rnd = random.Random(seed)
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    try:
        con.executescript("""
            CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT,
                                    email TEXT, created_at TEXT);
            CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, category TEXT,
                                   unit_price NUMERIC NOT NULL);
            CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id),
                                 product_id INTEGER REFERENCES products(id), quantity INTEGER,
                                 amount NUMERIC, status TEXT, note TEXT, ordered_at TEXT);
            CREATE INDEX orders_ordered_at ON orders(ordered_at);
        """)
        start = datetime(2026, 1, 1, tzinfo=timezone.utc)
        con.executemany("INSERT INTO customers VALUES (?,?,?,?,?)", [
            (i + 1, name, CITIES[i], f"orders@{name.split()[0].lower().strip(',&')}.example",
             (start - timedelta(days=400 - i * 9)).isoformat())
            for i, name in enumerate(CUSTOMERS)])
        con.executemany("INSERT INTO products VALUES (?,?,?,?)",
                        [(i + 1, n, c, p) for i, (n, c, p) in enumerate(PRODUCTS)])
        rows: list[tuple[Any, ...]] = []
        for oid in range(1, orders + 1):
            pid = rnd.randrange(len(PRODUCTS))
            qty = rnd.choice([1, 1, 1, 2, 2, 3, 5, 10])
            amount = f"{float(PRODUCTS[pid][2]) * qty:.2f}"
            when = start + timedelta(minutes=rnd.randrange(0, 60 * 24 * 330))
            note = rnd.choice([None, None, None, "consegna al piano", "fragile — handle with care",
                               'gift wrap, "urgent"', "multi\nline note"])
            rows.append((oid, rnd.randrange(1, len(CUSTOMERS) + 1), pid + 1, qty, amount,
                         rnd.choice(STATUSES), note, when.isoformat(timespec="seconds")))
        con.executemany("INSERT INTO orders VALUES (?,?,?,?,?,?,?,?)", rows)
        con.commit()
    finally:
        con.close()
    return orders


def demo_connections() -> dict[str, Any]:
    return {"databases": [{"name": "demo", "display_name": "Demo shop (SQLite)",
                           "url": "sqlite:///demo.db",
                           "description": "Embedded demo data created by `pstt init --demo`"}]}


DEMO_QUERY = """SELECT o.id AS order_id, o.ordered_at, c.name AS customer, c.city,
       p.name AS product, p.category, o.quantity, o.amount, o.status, o.note
FROM orders o
JOIN customers c ON c.id = o.customer_id
JOIN products p ON p.id = o.product_id
ORDER BY o.id"""


def demo_schedules() -> dict[str, Any]:
    return {"schedules": [
        {"id": "demo-orders-csv", "name": "Demo orders to CSV", "connection": "demo",
         "description": "Every order with customer and product, as a CSV that Excel set to an "
                        "Italian (or most European) region opens directly: ';' between "
                        "fields, decimal commas (locale excel-it; 'excel' for English regions).",
         "query": DEMO_QUERY, "trigger": {"type": "cron", "expression": "0 6 * * *"},
         "timezone": "Europe/Rome", "enabled": True, "sharing_mode": "filesystem",
         "sink_options": {"format": "csv", "directory": "demo",
                          "filename": "orders_{run_time:%Y%m%d_%H%M%S}.csv",
                          "locale": "excel-it", "keep_last": 10}},
        {"id": "demo-revenue-by-city", "name": "Demo revenue by city", "connection": "demo",
         "description": "Daily revenue per city as JSON Lines.",
         "query": "SELECT c.city, COUNT(*) AS orders, ROUND(SUM(o.amount), 2) AS revenue "
                  "FROM orders o JOIN customers c ON c.id = o.customer_id "
                  "WHERE o.status <> 'cancelled' GROUP BY c.city ORDER BY revenue DESC",
         "trigger": {"type": "interval", "seconds": 3600}, "timezone": "Europe/Rome",
         "enabled": False, "sharing_mode": "filesystem",
         "sink_options": {"format": "jsonl", "directory": "demo",
                          "filename": "revenue_{date}.jsonl", "overwrite": True}},
    ]}

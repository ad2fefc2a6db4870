//! The health probe every store offers through its gate.

use super::Gate;

impl Gate {
    /// Probes the gate's table with one GetItem of a key no store writes, through this
    /// gate.
    pub(crate) async fn health_check(&self) -> comic_vine_store::HealthStatus {
        use crate::metrics::Access;

        let (gate, table) = (self, &self.table);
        let started = std::time::Instant::now();
        let get = table.get_item(("HEALTH".to_owned(), "CHECK".to_owned()));
        let sent = table.send(&gate.metrics, Access::Read, get);
        let probe = gate.run("health_check", sent).await;
        let latency = started.elapsed();
        let (healthy, detail) = match probe {
            Ok(_) => (true, format!("table `{}` answered", table.name())),
            Err(e) => (false, e.to_string()),
        };
        comic_vine_store::HealthStatus {
            healthy,
            latency,
            detail,
        }
    }
}

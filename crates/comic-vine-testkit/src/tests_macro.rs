//! The shared scenarios as `#[tokio::test]`s of the calling test crate, one line each.

/// Defines `#[tokio::test] async fn NAME() { $crate::MODULE::SCENARIO::<DRIVER>(ARGS).await }`
/// for each `NAME => SCENARIO(ARGS);`.
#[doc(hidden)]
#[macro_export]
macro_rules! __scenario_tests {
    ($module:ident, $driver:ty; $($name:ident => $scenario:ident($($arg:expr),*);)*) => {
        $(
            #[tokio::test]
            async fn $name() {
                $crate::$module::$scenario::<$driver>($($arg),*).await;
            }
        )*
    };
}

/// The scenarios of [`memory`](crate::memory) as tests of the calling crate, driven by
/// the [`Driver`](crate::Driver) given.
#[macro_export]
macro_rules! memory_tests {
    ($driver:ty) => {
        $crate::__scenario_tests! { memory, $driver;
            eight_concurrent_identical_gets_make_one_upstream_call => eight_concurrent_identical_gets_make_one_upstream_call();
            the_api_key_and_the_parameter_order_do_not_split_the_cache => the_api_key_and_the_parameter_order_do_not_split_the_cache();
            a_404_reaches_the_caller_unchanged_and_is_not_cached => a_404_reaches_the_caller_unchanged_and_is_not_cached();
            callers_that_joined_a_failed_call_get_a_typed_error_not_another_call => callers_that_joined_a_failed_call_get_a_typed_error_not_another_call();
            a_420_with_retry_after_cools_the_resource_down_for_every_pipeline_on_the_limiter => cooldown_shared_between_pipelines(true);
            a_420_without_retry_after_cools_down_for_the_default_cooldown => cooldown_shared_between_pipelines(false);
        }
    };
}

/// The scenarios of [`dynamodb`](crate::dynamodb) (DynamoDB Local) as tests of the
/// calling crate, driven by the [`Driver`](crate::Driver) given.
#[macro_export]
macro_rules! dynamodb_tests {
    ($driver:ty) => {
        $crate::__scenario_tests! { dynamodb, $driver;
            eight_processes_asking_at_once_make_one_upstream_call => eight_processes_asking_at_once_make_one_upstream_call();
            eight_processes_on_a_stale_key_answer_stale_and_refresh_once => eight_processes_on_a_stale_key_answer_stale_and_refresh_once();
            a_420_with_retry_after_cools_the_resource_down_for_every_process => cooldown_shared_between_processes(true);
            a_420_without_retry_after_cools_down_every_process_for_the_default_cooldown => cooldown_shared_between_processes(false);
        }
    };
}

/// The scenarios of [`stale`](crate::stale) (stale serving, revalidation) as tests of the
/// calling crate, driven by the [`Driver`](crate::Driver) given.
#[macro_export]
macro_rules! stale_tests {
    ($driver:ty) => {
        $crate::__scenario_tests! { stale, $driver;
            stale_while_revalidate_answers_at_once_and_refreshes_once => stale_while_revalidate_answers_at_once_and_refreshes_once();
            a_refresh_is_skipped_when_the_budget_is_spent => a_refresh_is_skipped_when_the_budget_is_spent();
            stale_if_error_answers_within_its_window_and_the_error_after_it => stale_if_error_answers_within_its_window_and_the_error_after_it();
            a_spent_budget_answers_stale_for_a_seen_key_and_wait_too_long_for_a_new_one => a_spent_budget_answers_stale_for_a_seen_key_and_wait_too_long_for_a_new_one();
            must_revalidate_is_never_served_stale => must_revalidate_is_never_served_stale();
            no_store_is_not_kept_to_serve_stale => no_store_is_not_kept_to_serve_stale();
            a_304_applies_its_own_max_age => a_304_applies_its_own_max_age();
            a_304_that_validates_nothing_is_fetched_again_unconditionally => a_304_that_validates_nothing_is_fetched_again_unconditionally();
            a_304_refreshes_the_stored_headers_and_validators => a_304_refreshes_the_stored_headers_and_validators();
            a_304_with_headers_over_the_meta_limit_rewrites_the_entry => a_304_with_headers_over_the_meta_limit_rewrites_the_entry();
        }
    };
}

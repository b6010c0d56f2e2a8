package ca.halo.bench.hapijpa;

import ca.uhn.fhir.batch2.jobs.config.Batch2JobsConfig;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.jpa.api.config.JpaStorageSettings;
import ca.uhn.fhir.jpa.api.config.ThreadPoolFactoryConfig;
import ca.uhn.fhir.jpa.batch2.JpaBatch2Config;
import ca.uhn.fhir.jpa.config.HapiJpaConfig;
import ca.uhn.fhir.jpa.config.r4.JpaR4Config;
import ca.uhn.fhir.jpa.config.util.HapiEntityManagerFactoryUtil;
import ca.uhn.fhir.jpa.model.config.PartitionSettings;
import ca.uhn.fhir.jpa.model.dialect.HapiFhirH2Dialect;
import ca.uhn.fhir.jpa.subscription.channel.config.SubscriptionChannelConfig;
import jakarta.persistence.EntityManagerFactory;
import java.util.HashMap;
import java.util.Map;
import javax.sql.DataSource;
import org.apache.commons.dbcp2.BasicDataSource;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Primary;
import org.springframework.orm.jpa.JpaTransactionManager;
import org.springframework.orm.jpa.LocalContainerEntityManagerFactoryBean;

/**
 * The Spring wiring of the benchmark's HAPI FHIR JPA server: HAPI's own R4 JPA configuration
 * (DAOs, resource providers, the system provider, search, batch2) plus what a deployment
 * supplies itself, as in the jpaserver-starter without Spring Boot: storage settings, an H2
 * in-memory database through a pooled data source, the entity manager factory and the
 * transaction manager, and the in-memory broker batch2 runs on. The R4 {@link FhirContext} is
 * HAPI's own (JpaR4Config imports FhirContextR4Config).
 */
@Configuration
@Import({
  JpaR4Config.class,
  HapiJpaConfig.class,
  JpaBatch2Config.class,
  Batch2JobsConfig.class,
  // the thread pools of transactions' parallel work
  ThreadPoolFactoryConfig.class,
  // the in-memory message broker batch2 needs (no subscription matching or delivery)
  SubscriptionChannelConfig.class
})
public class HapiJpaBenchConfig {

  /** Connections in the pool (H2 in memory; HAPI may hold two per request). */
  static final int MAX_CONNECTIONS = Integer.getInteger("hapijpa.maxConnections", 20);

  @Bean
  public JpaStorageSettings storageSettings() {
    // HAPI's defaults (client-assigned ids: ALPHANUMERIC; no external references), but for the
    // tag storage mode when -Dhapijpa.tagStorage names one (VERSIONED, NON_VERSIONED, INLINE)
    JpaStorageSettings s = new JpaStorageSettings();
    String tags = System.getProperty("hapijpa.tagStorage");
    if (tags != null) {
      s.setTagStorageMode(JpaStorageSettings.TagStorageModeEnum.valueOf(tags));
    }
    return s;
  }

  @Bean
  public PartitionSettings partitionSettings() {
    return new PartitionSettings();
  }

  @Bean(destroyMethod = "close")
  public BasicDataSource dataSource() {
    BasicDataSource ds = new BasicDataSource();
    ds.setDriver(new org.h2.Driver());
    ds.setUrl(System.getProperty("hapijpa.jdbcUrl", "jdbc:h2:mem:hapi;DB_CLOSE_DELAY=-1"));
    ds.setUsername("sa");
    ds.setPassword("");
    ds.setMaxTotal(MAX_CONNECTIONS);
    ds.setMaxIdle(MAX_CONNECTIONS);
    return ds;
  }

  @Bean
  @Primary
  public LocalContainerEntityManagerFactoryBean entityManagerFactory(
      ConfigurableListableBeanFactory beanFactory,
      FhirContext fhirContext,
      JpaStorageSettings storageSettings,
      DataSource dataSource) {
    LocalContainerEntityManagerFactoryBean emf =
        HapiEntityManagerFactoryUtil.newEntityManagerFactory(beanFactory, fhirContext, storageSettings);
    emf.setPersistenceUnitName("HAPI_BENCH_PU");
    emf.setDataSource(dataSource);
    Map<String, Object> props = new HashMap<>();
    props.put("hibernate.dialect", HapiFhirH2Dialect.class.getName());
    props.put("hibernate.hbm2ddl.auto", "update");
    props.put("hibernate.search.enabled", "false");
    props.put("hibernate.format_sql", "false");
    props.put("hibernate.show_sql", "false");
    props.put("hibernate.jdbc.batch_size", "20");
    props.put("hibernate.cache.use_query_cache", "false");
    props.put("hibernate.cache.use_second_level_cache", "false");
    props.put("hibernate.cache.use_structured_entries", "false");
    props.put("hibernate.cache.use_minimal_puts", "false");
    props.put("hibernate.archive.scanner", "org.hibernate.boot.archive.scan.internal.DisabledScanner");
    emf.setJpaPropertyMap(props);
    return emf;
  }

  @Bean
  @Primary
  public JpaTransactionManager transactionManager(EntityManagerFactory entityManagerFactory) {
    return new JpaTransactionManager(entityManagerFactory);
  }
}
